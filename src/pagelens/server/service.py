"""One Index shared by every request: a lock around it (the Index is not thread-safe, and neither is
pdfium), called from the threadpool so the event loop never blocks.

Searches are serialised; an upload being indexed holds the lock too, so searches wait for it.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pagelens.errors import NotFoundError
from pagelens.results import Hit, IngestReport
from pagelens.server.filter_params import NO_FILTERS, SearchFilters, matches_nothing
from pagelens.server.overlay import SimilarityMap, patch_grid, similarity_map
from pagelens.server.render import PAGE, ImageCache, RenderedImage, Variant, render_page
from pagelens.store.records import DocumentRecord, PageRecord

if TYPE_CHECKING:
    from PIL import Image

    from pagelens.api import Index

log = logging.getLogger(__name__)


@dataclass
class PageInfo:
    record: PageRecord
    path: str


class IndexService:
    """Thread-safe access to an Index for the HTTP layer; page ids in, never file paths."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.lock = threading.RLock()
        self.images = ImageCache()
        self.upload_dir = Path(index.location.local_dir) / "uploads"

    # ---- searching --------------------------------------------------------------------------------------
    def search_text(
        self, query: str, k: int, mode: str | None = None, filters: SearchFilters = NO_FILTERS
    ) -> list[Hit]:
        with self.lock:
            spec = self._filter(filters)
            if matches_nothing(spec):
                return []
            return self.index.search(
                query, k=k, mode=mode, exact=filters.exact, filter=spec, candidates=filters.candidates
            )

    def search_many(
        self, queries: list[str], k: int, mode: str | None = None, filters: SearchFilters = NO_FILTERS
    ) -> list[list[Hit]]:
        with self.lock:
            spec = self._filter(filters)
            if matches_nothing(spec):
                return [[] for _ in queries]
            return self.index.search_many(
                queries, k=k, mode=mode, exact=filters.exact, filter=spec, candidates=filters.candidates
            )

    def search_image(self, image: Image.Image, k: int, filters: SearchFilters = NO_FILTERS) -> list[Hit]:
        with self.lock:
            spec = self._filter(filters)
            if matches_nothing(spec):
                return []
            return self.index.search(
                image, k=k, exact=filters.exact, filter=spec, candidates=filters.candidates
            )

    def similar(self, page_id: int, k: int, filters: SearchFilters = NO_FILTERS) -> tuple[str, list[Hit]]:
        with self.lock:
            page = self._page(page_id)
            spec = self._filter(filters)
            hits = (
                []
                if matches_nothing(spec)
                else self.index.similar(
                    page_id, k=k, exact=filters.exact, filter=spec, candidates=filters.candidates
                )
            )
        return f"{page.path}#page={page.record.page}", hits

    def _filter(self, filters: SearchFilters) -> dict[str, Any] | None:
        """The library filter for `filters` on this index (the lock is held). An empty index has no pages to
        filter: the search answers [] without one."""
        if self.index.info.dim is None or filters == NO_FILTERS:
            return None
        catalog = self.index.catalog
        return filters.spec(catalog.documents, (r.metadata or {} for r in catalog.by_id.values()))

    # ---- pages ------------------------------------------------------------------------------------------
    def _page(self, page_id: int) -> PageInfo:
        if self.index.info.dim is None:
            raise NotFoundError(f"page id {page_id} is not in the index (the index is empty)")
        catalog = self.index.catalog
        record = catalog.by_id.get(page_id)
        if record is None:
            raise NotFoundError(f"page id {page_id} is not in the index")
        return PageInfo(record, catalog.path_of(record))

    def page(self, page_id: int) -> PageInfo:
        with self.lock:
            return self._page(page_id)

    def image(self, page_id: int, variant: Variant) -> RenderedImage:
        cached = self.images.get(page_id, variant)
        if cached is not None:
            return cached
        with self.lock:
            page = self._page(page_id)
            rendered = render_page(page.path, page.record, variant)
        self.images.put(page_id, variant, rendered)
        return rendered

    def overlay(self, page_id: int, query: str) -> SimilarityMap:
        with self.lock:
            page = self._page(page_id)
            vectors = self.index.page_vectors(page_id)
            query_vectors = self.index.embed_query(query)
            embedder = self.index.embedder
        width, height = self._page_shape(page)
        grid = patch_grid(embedder, len(vectors), width, height)
        return similarity_map(vectors, query_vectors, grid)

    def _page_shape(self, page: PageInfo) -> tuple[int, int]:
        """The page's size as indexed, else as rendered (older records may lack it)."""
        if page.record.width > 0 and page.record.height > 0:
            return page.record.width, page.record.height
        rendered = self.image(page.record.page_id, PAGE)
        return rendered.width, rendered.height

    # ---- documents ----------------------------------------------------------------------------------------
    def documents(self) -> tuple[list[DocumentRecord], dict[str, int]]:
        """All documents, and the page id of the first page of each indexed content."""
        with self.lock:
            documents = self.index.documents()
            pages = self.index.catalog.pages if documents else []
        first: dict[str, PageRecord] = {}
        for record in pages:
            best = first.get(record.content_hash)
            if best is None or record.page < best.page:
                first[record.content_hash] = record
        return documents, {content: record.page_id for content, record in first.items()}

    def document(self, path: str) -> tuple[DocumentRecord, list[PageRecord]]:
        """One indexed document (its record, with metadata) and its pages in order."""
        with self.lock:
            document = self._document(path)
            if document.status != "indexed":
                raise NotFoundError(f"{path} failed to index: {document.reason}")
            pages = [p for p in self.index.catalog.pages if p.content_hash == document.content_hash]
        return document, sorted(pages, key=lambda p: p.page)

    def _document(self, path: str) -> DocumentRecord:
        for document in self.index.documents():
            if document.path == path:
                return document
        raise NotFoundError(f"{path}: not in the index")

    def add(self, paths: list[Path]) -> IngestReport:
        with self.lock:
            return self.index.add([os.fspath(p) for p in paths], progress=False)

    def forget_failed(self, paths: list[Path]) -> None:
        """Drop the 'failed' records of rejected uploads (their files are deleted too)."""
        with self.lock:
            failed = {d.path for d in self.index.documents() if d.status == "failed"}
            for path in paths:
                if str(path) in failed:
                    self.index.remove(str(path))

    def remove(self, path: str) -> int:
        """Remove one document by its exact indexed path; an uploaded copy is deleted from disk too."""
        with self.lock:
            document = self._document(path)
            removed = self.index.remove(document.path)
        from pagelens.server.uploads import is_inside

        stored = Path(document.path)
        if is_inside(stored, self.upload_dir) and stored.is_file():
            stored.unlink(missing_ok=True)
        return removed

    def status(self) -> dict[str, Any]:
        with self.lock:
            return self.index.status().to_dict()
