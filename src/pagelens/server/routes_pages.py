"""Page routes: the page image, its thumbnail, and the similarity map of a query on it. Pages are named
by id only; the file behind a page comes from the index, never from the request."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from pagelens.server.overlay import heatmap_png
from pagelens.server.render import PAGE, THUMBNAIL, Variant
from pagelens.server.responses import MAX_QUERY_CHARS, errors, page_id_param
from pagelens.server.schemas import OverlayResponse
from pagelens.server.service import IndexService

CACHE_CONTROL = "private, max-age=3600"  # page ids are content-addressed: an id's image never changes


def _image_responses(media_type: str) -> dict[int | str, dict[str, object]]:
    ok: dict[int | str, dict[str, object]] = {
        200: {
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
            "description": "the image",
        }
    }
    return {**ok, **errors(404)}


def pages_router(service: IndexService) -> APIRouter:
    router = APIRouter(tags=["pages"])

    def _image(page_id: int, variant: Variant) -> Response:
        rendered = service.image(page_id, variant)
        return Response(
            rendered.data, media_type=rendered.media_type, headers={"Cache-Control": CACHE_CONTROL}
        )

    @router.get("/pages/{page_id}/image", response_class=Response, responses=_image_responses("image/png"))
    def page_image(page_id: int = page_id_param()) -> Response:
        """The page rendered from its source file (PNG, longer side 1400 px)."""
        return _image(page_id, PAGE)

    @router.get(
        "/pages/{page_id}/thumbnail", response_class=Response, responses=_image_responses("image/jpeg")
    )
    def page_thumbnail(page_id: int = page_id_param()) -> Response:
        """A small JPEG of the page (longer side 360 px)."""
        return _image(page_id, THUMBNAIL)

    @router.get(
        "/pages/{page_id}/overlay",
        response_model=OverlayResponse,
        responses={
            200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}},
            **errors(400, 404, 409),
        },
    )
    def page_overlay(
        page_id: int = page_id_param(),
        q: str = Query(min_length=1, max_length=MAX_QUERY_CHARS, description="text query"),
        format: Literal["json", "png"] = Query("json", description="json grid, or a PNG heatmap to lay over"),
    ) -> Response:
        """Which patches of the page matched the query: per patch, the best similarity over query tokens."""
        similarity = service.overlay(page_id, q)
        if format == "png":
            return Response(
                heatmap_png(similarity), media_type="image/png", headers={"Cache-Control": CACHE_CONTROL}
            )
        body = OverlayResponse(
            page_id=str(page_id),
            query=q,
            rows=similarity.rows,
            cols=similarity.cols,
            grid=similarity.source,
            min=round(similarity.low, 6),
            max=round(similarity.high, 6),
            values=[[round(float(v), 5) for v in row] for row in similarity.values],
        )
        return JSONResponse(body.model_dump())

    return router
