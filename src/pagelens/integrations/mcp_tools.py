"""The MCP server's tools as plain Python over one open Index, free of the `mcp` SDK (mcp_server.py wires
them up). Each raises pagelens errors; the server turns those into MCP tool errors.

The index's lock (locks.py) serializes every call: the SDK runs synchronous tools in worker threads. The
model loads once, on the first query (the Index loads its embedder lazily and keeps it).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pagelens.errors import UsageError
from pagelens.integrations.locks import index_lock
from pagelens.integrations.pages import (
    DEFAULT_IMAGE_SIDE,
    check_side,
    hit_text,
    page_location,
    page_png,
    parse_page_id,
    png_size,
)

if TYPE_CHECKING:
    from pagelens.api import Index
    from pagelens.results import Hit

MAX_K = 100
DEFAULT_DOCUMENT_LIMIT, MAX_DOCUMENT_LIMIT = 200, 10_000


def search_filter(
    path: str | None = None, pages: str | int | None = None, where: Sequence[str] | str | None = None
) -> dict[str, Any] | None:
    """The filter `pagelens search --path GLOB --pages A-B --where KEY=VALUE...` builds (the CLI's own code)."""
    from pagelens.cli import _filter

    items = [where] if isinstance(where, str) else list(where or [])
    text = str(pages).strip() if pages is not None else ""
    return _filter(argparse.Namespace(path=path or None, pages=text or None, where=items))


def hit_result(hit: Hit) -> dict[str, Any]:
    """One result, exactly as `pagelens search --json` prints it, plus `snippet` where the page has text."""
    result = hit.to_dict()
    text = hit_text(hit)
    if text:
        result["snippet"] = text
    return result


class PagelensTools:
    """`search`, `get_page` and `list_documents` over `index` (which the caller opens and closes)."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self._lock = index_lock(index)

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        path: str | None = None,
        pages: str | int | None = None,
        where: Sequence[str] | str | None = None,
    ) -> dict[str, Any]:
        """As `pagelens search QUERY -k K --path --pages --where --json`: the same ranking and result shape."""
        if not 1 <= int(k) <= MAX_K:
            raise UsageError(f"k must be between 1 and {MAX_K}, got {k}")
        if not query or not query.strip():
            raise UsageError("the query is empty")
        spec = search_filter(path, pages, where)
        with self._lock:
            hits = self.index.search(query, k=int(k), filter=spec)
        return {
            "query": query,
            "query_type": "text",
            "results": [hit_result(hit) for hit in hits],
        }

    def get_page(self, page_id: str | int, max_side: int | None = None) -> tuple[dict[str, Any], bytes]:
        """The page's description and its PNG (long side at most `max_side`, default 1024)."""
        side = check_side(max_side) if max_side is not None else DEFAULT_IMAGE_SIDE
        number = parse_page_id(page_id)
        with self._lock:
            path, page = page_location(self.index, number)
            data = page_png(self.index, number, side)
        width, height = png_size(data)
        info = {
            "page_id": str(number),
            "path": path,
            "page": page,
            "width": width,
            "height": height,
            "media_type": "image/png",
        }
        return info, data

    def list_documents(self, path: str | None = None, limit: int = DEFAULT_DOCUMENT_LIMIT) -> dict[str, Any]:
        """Documents by path (optionally only those matching a glob or prefix), with page counts and status."""
        from pagelens.search.filters import Filter

        if not 1 <= int(limit) <= MAX_DOCUMENT_LIMIT:
            raise UsageError(f"limit must be between 1 and {MAX_DOCUMENT_LIMIT}, got {limit}")
        with self._lock:
            documents = sorted(self.index.documents(), key=lambda d: d.path)
            location, model = self.index.location.describe(), self.index.info.model or self.index.model
        matcher = Filter(path=path) if path else None
        chosen = [d for d in documents if matcher is None or matcher.matches_path(d.path)]
        indexed = [d for d in chosen if d.status == "indexed"]
        listed = []
        for document in chosen[: int(limit)]:
            item: dict[str, Any] = {"path": document.path, "pages": document.pages, "status": document.status}
            if document.reason:  # why it failed, or how its pages were adjusted to fit the model
                item["reason"] = document.reason
            listed.append(item)
        return {
            "index": location,
            "model": model,
            "indexed_documents": len(indexed),
            "indexed_pages": sum(d.pages for d in indexed),
            "failed_documents": len(chosen) - len(indexed),
            "documents": listed,
            "truncated": len(chosen) > len(listed),
        }
