"""The JSON shapes of the HTTP API (pydantic models, so /openapi.json documents them)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from pagelens.server.filter_params import MAX_CANDIDATES, MAX_FILTER_VALUES, PAGES_PATTERN, FilterValue

MAX_QUERIES = 32  # queries in one POST /api/search_many
MAX_QUERY_CHARS = 2000


class ErrorBody(BaseModel):
    error: str = Field(description="what went wrong, in plain words")
    detail: Any | None = Field(default=None, description="extra structure, e.g. validation errors")
    failed: list[FileFailure] | None = None


class FileFailure(BaseModel):
    file: str = Field(description="the file name as uploaded")
    reason: str


class SearchResult(BaseModel):
    rank: int
    score: float
    path: str
    page: int = Field(description="1-based page number")
    page_id: str = Field(description="stable page id (a string: it may exceed 2**53)")
    metadata: dict[str, Any] = Field(default_factory=dict)
    thumbnail_url: str
    page_url: str = Field(description="the full page image")
    overlay_url: str | None = Field(default=None, description="similarity map of a text query on this page")
    mode: str = Field("visual", description="the search mode that ranked it: visual, text or hybrid")
    visual_score: float | None = Field(None, description="MaxSim score (None: not computed in this mode)")
    text_score: float | None = Field(None, description="BM25 score (0: no query term on the page)")
    snippet: str | None = Field(None, description="the page's text around the query terms, marked **so**")


class SearchResponse(BaseModel):
    query: str
    query_type: str = Field(description="text, image or page")
    results: list[SearchResult]


class SearchManyRequest(BaseModel):
    """Several text queries with one k, mode and set of filters (the filters mean what they mean as
    GET /api/search query parameters)."""

    queries: list[Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS, pattern=r"\S")]] = Field(
        min_length=1,
        json_schema_extra={"maxItems": MAX_QUERIES},  # enforced by the route: more is a 413
        description=f"text queries, 1 to {MAX_QUERIES} (more: 413)",
    )
    k: int = Field(5, ge=1, le=100, description="number of results per query")
    mode: Literal["visual", "text", "hybrid"] | None = Field(
        None, description="visual, text or hybrid; default hybrid where the index has text"
    )
    path: list[FilterValue] = Field(
        default_factory=list,
        max_length=MAX_FILTER_VALUES,
        description="globs or prefixes of document paths (any one)",
    )
    pages: str | None = Field(None, pattern=PAGES_PATTERN, description="a 1-based page range, N or A-B")
    where: list[FilterValue] = Field(
        default_factory=list,
        max_length=MAX_FILTER_VALUES,
        description="metadata conditions KEY=VALUE, KEY>=VALUE, ...",
    )
    exact: bool = Field(False, description="score every page exactly")
    candidates: int | None = Field(None, ge=1, le=MAX_CANDIDATES, description="pages scored exactly")

    model_config = {"extra": "forbid"}


class DocumentOut(BaseModel):
    path: str
    name: str
    status: str = Field(description="indexed or failed")
    pages: int
    reason: str = ""
    size: int = 0
    indexed_at: float = 0.0
    first_page_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict, description="the document's metadata (sidecar)")


class DocumentsResponse(BaseModel):
    documents: list[DocumentOut]


class PageOut(BaseModel):
    page: int
    page_id: str
    thumbnail_url: str
    page_url: str


class DocumentPagesResponse(BaseModel):
    path: str
    name: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict, description="the document's metadata (sidecar)")
    pages: list[PageOut]


class UploadedFile(BaseModel):
    file: str = Field(description="the file name as uploaded")
    path: str = Field(description="where the server keeps it (the path search results show)")


class UploadResponse(BaseModel):
    indexed: list[UploadedFile] = Field(description="files now searchable (new or unchanged)")
    failed: list[FileFailure]
    report: dict[str, Any]


class RemoveResponse(BaseModel):
    path: str
    removed: int


class FailedDocument(BaseModel):
    path: str
    reason: str


class ServerLimits(BaseModel):
    max_upload_bytes: int
    auth: bool


class StatusResponse(BaseModel):
    index: str
    model: str | None
    dim: int | None
    schema_version: int
    documents: int
    pages: int
    vectors: int
    failed: list[FailedDocument]
    pool_factor: int = Field(1, description="pages stored pooled by this factor (1: every vector kept)")
    vector_dtype: str = Field("bfloat16", description="how page vectors are stored on disk")
    pages_with_text: int = Field(0, description="pages whose text (text layer or OCR) is stored")
    text_search: str | None = Field(None, description="text engine: milvus-bm25 or bm25s")
    ocr: str | None = Field(
        None, description="OCR engine for pages without a text layer (None: not installed)"
    )
    server: ServerLimits


class HealthResponse(BaseModel):
    status: str


class OverlayResponse(BaseModel):
    page_id: str
    query: str
    rows: int
    cols: int
    grid: str = Field(description="'model' when the model reported its patch grid, else 'inferred'")
    min: float
    max: float
    values: list[list[float]] = Field(description="rows x cols, each the best similarity over query tokens")


ErrorBody.model_rebuild()
