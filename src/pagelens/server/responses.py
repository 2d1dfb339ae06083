"""Shared pieces of the route modules: documented error responses, result URLs, request parameters."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Path, Query

from pagelens.results import Hit
from pagelens.server.schemas import MAX_QUERY_CHARS as MAX_QUERY_CHARS  # re-exported for the routes
from pagelens.server.schemas import ErrorBody, SearchResult

MAX_K = 100
MAX_PAGE_ID = 2**63 - 1

_ERROR_TEXT = {
    400: "bad request: an empty query, or a filter that cannot apply here; the message starts with the "
    "parameter's name (e.g. `pages: page range must be 1-based and ordered, got 4-2`, `where: no indexed "
    "page has the metadata key 'yeer'`)",
    401: "missing or wrong bearer token",
    404: "no such page or document",
    409: "the index is busy or built with another model",
    413: "upload larger than the limit, or too many queries in one request",
    415: "unsupported file type",
    422: "invalid parameters, or a file that cannot be read (the message names the file and reason)",
    503: "the model or the index store is unavailable",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error codes, all shaped `{"error": message}`."""
    return {code: {"model": ErrorBody, "description": _ERROR_TEXT[code]} for code in (401, 422, 503, *codes)}


def page_id_param() -> Any:
    return Path(ge=0, le=MAX_PAGE_ID, description="a page id from a search result")


def k_param() -> Any:
    return Query(5, ge=1, le=MAX_K, description="number of results")


def thumbnail_url(page_id: int | str) -> str:
    return f"/api/pages/{page_id}/thumbnail"


def page_url(page_id: int | str) -> str:
    return f"/api/pages/{page_id}/image"


def overlay_url(page_id: int | str, query: str) -> str:
    return f"/api/pages/{page_id}/overlay?q={quote(query, safe='')}&format=png"


def result(hit: Hit, text_query: str | None = None) -> SearchResult:
    return SearchResult(
        **hit.to_dict(),
        thumbnail_url=thumbnail_url(hit.page_id),
        page_url=page_url(hit.page_id),
        overlay_url=overlay_url(hit.page_id, text_query) if text_query is not None else None,
    )
