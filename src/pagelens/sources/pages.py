"""Documents to page images, by kind."""

from __future__ import annotations

from collections.abc import Iterator

from pagelens.errors import SourceError
from pagelens.sources.document import Document, PageImage
from pagelens.sources.images import image_page_count, render_image
from pagelens.sources.pdf import pdf_page_count, render_pdf
from pagelens.sources.text import PdfText


def count_pages(document: Document, password: str | None = None) -> int:
    if document.kind == "pdf":
        return pdf_page_count(document.path, password)
    if document.kind == "image":
        return image_page_count(document.path)
    if document.kind == "dataset":
        return 1
    raise SourceError(document.path, "unsupported file type (expected a PDF or an image)")


def iter_pages(
    document: Document, image_side: int, password: str | None = None, start_page: int = 1
) -> Iterator[PageImage]:
    """Page images of a document, lazily, from `start_page` (1-based) on, with each PDF page's text layer."""
    if document.kind == "pdf":
        with PdfText(document.path, password) as text:
            for number, image in render_pdf(document.path, image_side, password, start_page):
                yield PageImage(document=document, page=number, image=image, text=text.page(number))
        return
    if document.kind == "image":
        pages = render_image(document.path, image_side, start_page)
    elif document.kind == "dataset":
        from pagelens.sources.datasets import render_dataset_page

        pages = iter([(1, render_dataset_page(document, image_side))] if start_page <= 1 else [])
    else:
        raise SourceError(document.path, "unsupported file type (expected a PDF or an image)")
    for number, image in pages:
        yield PageImage(document=document, page=number, image=image)
