"""Render an indexed page again from its source, for display: a file checked against the content hash it
was indexed with, or a row of an indexed dataset (`/data/ds#17`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pagelens.errors import NotFoundError
from pagelens.sources.document import Document
from pagelens.sources.pages import iter_pages
from pagelens.store.records import PageRecord

if TYPE_CHECKING:
    from PIL import Image


def render_indexed_page(path: str, record: PageRecord, side: int) -> Image.Image:
    """The page's image, long side about `side`. NotFoundError when the source is gone or has changed."""
    if not Path(path).exists():
        from pagelens.sources.datasets import split_dataset_path

        if split_dataset_path(path) is not None:
            row = Document(path, record.content_hash, "dataset", 0, dict(record.metadata or {}))
            for page in iter_pages(row, side):
                return page.image
    try:
        document = Document.from_path(path)
    except OSError as exc:
        raise NotFoundError(f"{path}: the source file is no longer readable ({exc.strerror or exc})") from exc
    if document.content_hash != record.content_hash:
        raise NotFoundError(f"{path} changed since it was indexed; re-index it to see this page")
    for page in iter_pages(document, side, start_page=record.page):
        return page.image
    raise NotFoundError(f"{path} has no page {record.page}")
