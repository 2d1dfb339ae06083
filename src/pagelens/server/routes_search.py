"""Search routes: text, image (uploaded as the query) and "pages like this one"."""

from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from pagelens.errors import UsageError
from pagelens.server.errors import UploadRejected
from pagelens.server.filter_params import SearchFilters, filter_query
from pagelens.server.responses import MAX_QUERY_CHARS, errors, k_param, page_id_param, result
from pagelens.server.schemas import MAX_QUERIES, SearchManyRequest, SearchResponse
from pagelens.server.service import IndexService

if TYPE_CHECKING:
    from PIL import Image

MAX_QUERY_IMAGE_PIXELS = 40_000_000

IMAGE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["image"],
                    "properties": {"image": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


def read_query_image(data: bytes, name: str) -> Image.Image:
    """Decode an uploaded query image, refusing what is not an image or is absurdly large."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    if not data:
        raise UploadRejected(name, "the image is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            image = PILImage.open(io.BytesIO(data))
            if image.width * image.height > MAX_QUERY_IMAGE_PIXELS:
                raise UploadRejected(name, f"image too large ({image.width} x {image.height} pixels)")
            image.load()
            return image.convert("RGB")
    except UploadRejected:
        raise
    except (
        UnidentifiedImageError,
        PILImage.DecompressionBombError,
        PILImage.DecompressionBombWarning,
    ) as exc:
        raise UploadRejected(name, f"not a supported image ({exc.__class__.__name__})") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise UploadRejected(name, f"image cannot be decoded ({exc})") from exc


def search_router(service: IndexService) -> APIRouter:
    router = APIRouter(tags=["search"])
    filter_params = filter_query()

    @router.get("/search", response_model=SearchResponse, responses=errors(400, 409))
    def search(
        q: str = Query(min_length=1, max_length=MAX_QUERY_CHARS, description="text query"),
        k: int = k_param(),
        mode: Literal["visual", "text", "hybrid"] | None = Query(
            None,
            description="visual, text (BM25 on the pages' text) or hybrid; default hybrid where the index has text",
        ),
        filters: SearchFilters = Depends(filter_params),
    ) -> SearchResponse:
        """Pages best matching a text query, best first (the shape of `pagelens search --json`); text and
        hybrid results carry a snippet of the page's text with the matched terms marked **like this**.
        `path`, `pages`, `where`, `exact` and `candidates` mean what `pagelens search`'s options mean."""
        hits = service.search_text(q, k, mode, filters)
        return SearchResponse(query=q, query_type="text", results=[result(h, q) for h in hits])

    @router.post(
        "/search_many",
        response_model=list[SearchResponse],
        responses=errors(400, 409, 413),
    )
    def search_many(body: SearchManyRequest) -> list[SearchResponse]:
        """Several text queries at once (embedded in batches, like `pagelens search --queries FILE`): one
        answer per query, in order, each shaped like GET /api/search's. At most 32 queries (more: 413)."""
        if len(body.queries) > MAX_QUERIES:
            raise HTTPException(
                413, f"queries: {len(body.queries)} queries; at most {MAX_QUERIES} per request"
            )
        filters = SearchFilters.parse(body.path, body.pages, body.where, body.exact, body.candidates)
        answers = service.search_many(body.queries, body.k, body.mode, filters)
        return [
            SearchResponse(query=q, query_type="text", results=[result(h, q) for h in hits])
            for q, hits in zip(body.queries, answers, strict=True)
        ]

    @router.post(
        "/search/image",
        response_model=SearchResponse,
        responses=errors(400, 409, 413),
        openapi_extra=IMAGE_BODY,
    )
    async def search_image(
        request: Request, k: int = k_param(), filters: SearchFilters = Depends(filter_params)
    ) -> SearchResponse:
        """Pages that look like an uploaded image (multipart field `image`); the same filters as GET
        /api/search."""
        async with request.form(max_files=1, max_fields=4) as form:
            upload = form.get("image")
            if not isinstance(upload, UploadFile):
                raise UsageError("send the query image as the multipart file field 'image'")
            name = upload.filename or "image"
            data = await upload.read()
        image = await run_in_threadpool(read_query_image, data, name)
        hits = await run_in_threadpool(service.search_image, image, k, filters)
        return SearchResponse(query=name, query_type="image", results=[result(h) for h in hits])

    @router.get("/similar/{page_id}", response_model=SearchResponse, responses=errors(400, 404, 409))
    def similar(
        page_id: int = page_id_param(),
        k: int = k_param(),
        filters: SearchFilters = Depends(filter_params),
    ) -> SearchResponse:
        """Pages that look like an indexed page (the page itself is left out); the same filters as GET
        /api/search."""
        query, hits = service.similar(page_id, k, filters)
        return SearchResponse(query=query, query_type="page", results=[result(h) for h in hits])

    return router
