"""PDF pages rendered with pypdfium2, one at a time, at a size suited to the model."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pagelens.errors import MissingDependencyError, PasswordRequiredError, SourceError

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

# Never render more pixels than this for one page, whatever its size in points (a 200-inch poster page).
MAX_PAGE_PIXELS = 16_000_000


def _pdfium():
    try:
        import pypdfium2
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise MissingDependencyError("pypdfium2", "pdf") from exc
    return pypdfium2


def _open(path: str, password: str | None):
    pdfium = _pdfium()
    try:
        return pdfium.PdfDocument(path, password=password)
    except pdfium.PdfiumError as exc:
        message = str(exc)
        if "password" in message.lower():
            reason = "wrong password" if password else "encrypted: needs a password (--password)"
            raise PasswordRequiredError(path, reason) from exc
        raise SourceError(path, f"not a readable PDF ({_plain(message)})") from exc
    except OSError as exc:
        raise SourceError(path, f"cannot read file ({exc.strerror or exc})") from exc


def _plain(message: str) -> str:
    """pypdfium2's 'Failed to load document (PDFium: Data format error).' -> 'data format error'."""
    if "PDFium:" in message:
        message = message.split("PDFium:", 1)[1]
    return message.strip(" ().").lower() or "unknown error"


def render_scale(width_pt: float, height_pt: float, image_side: int) -> float:
    """Scale (pixels per point) that makes the longer side `image_side` pixels, under the pixel cap."""
    if width_pt <= 0 or height_pt <= 0:
        raise ValueError("page has no area")
    scale = image_side / max(width_pt, height_pt)
    pixels = width_pt * height_pt * scale * scale
    if pixels > MAX_PAGE_PIXELS:
        scale *= (MAX_PAGE_PIXELS / pixels) ** 0.5
    return scale


def pdf_page_count(path: str, password: str | None = None) -> int:
    document = _open(path, password)
    try:
        return len(document)
    finally:
        document.close()


def render_pdf(
    path: str, image_side: int, password: str | None = None, start_page: int = 1
) -> Iterator[tuple[int, Image.Image]]:
    """Yield (1-based page number, RGB image) for each page from `start_page` on, one page in memory at a time."""
    pdfium = _pdfium()
    document = _open(path, password)
    try:
        count = len(document)
        if count == 0:
            raise SourceError(path, "the PDF has no pages")
        for index in range(start_page - 1, count):
            try:
                page = document[index]
                try:
                    width, height = page.get_size()
                    scale = render_scale(width, height, image_side)
                    bitmap = page.render(scale=scale, may_draw_forms=True)
                    image = bitmap.to_pil().convert("RGB")
                    bitmap.close()
                finally:
                    page.close()
            except (pdfium.PdfiumError, ValueError) as exc:
                raise SourceError(path, f"page {index + 1} cannot be rendered ({_plain(str(exc))})") from exc
            yield index + 1, image
    finally:
        document.close()
