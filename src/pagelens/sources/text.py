"""A page's own text: the PDF's text layer (pypdfium2), else OCR where an OCR engine is installed.

Text is a by-product of rendering and never fails a page: a text layer that cannot be read, or an OCR run
that fails, leaves the page without text (logged). OCR is optional (the `ocr` extra: pytesseract and the
`tesseract` binary; PAGELENS_OCR=off turns it off); without it, pages whose PDF has no text layer (scans) and images simply have no text.
Stored text is cut to MAX_TEXT_BYTES of UTF-8 (Milvus' VARCHAR limit counts bytes), never mid-character
(`fit_text`).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
from typing import TYPE_CHECKING, Any

from pagelens.store.text_index import MAX_TEXT_BYTES, fit_text

if TYPE_CHECKING:
    from PIL import Image

    from pagelens.sources.document import Document

__all__ = ["MAX_TEXT_BYTES", "PdfText", "clean_text", "fit_text", "ocr_engine", "ocr_page", "ocr_text"]

log = logging.getLogger(__name__)

OCR_TIMEOUT_SECONDS = 30
OCR_SIDE = 2000  # pixels on the longer side of the render OCR reads
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(text: str) -> str:
    """Whitespace runs collapsed, line breaks kept (at most one blank line), control characters dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = "".join(c for c in text if c == "\n" or c.isprintable() or c == "\t")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


class PdfText:
    """The text layer of one PDF's pages, read on demand with pypdfium2 (its own handle on the file)."""

    def __init__(self, path: str, password: str | None = None) -> None:
        self.path = path
        self._document: Any = None
        try:
            import pypdfium2

            self._document = pypdfium2.PdfDocument(path, password=password)
        except Exception as exc:  # rendering reports a bad file; text is a by-product
            log.info("%s: text layer unreadable (%s)", path, exc)

    def page(self, number: int) -> str:
        """Page `number`'s (1-based) text layer, cleaned; "" when it has none or it cannot be read."""
        if self._document is None:
            return ""
        try:
            page = self._document[number - 1]
            try:
                textpage = page.get_textpage()
                try:
                    return clean_text(textpage.get_text_range())
                finally:
                    textpage.close()
            finally:
                page.close()
        except Exception as exc:
            log.info("%s: page %d: text layer unreadable (%s)", self.path, number, exc)
            return ""

    def close(self) -> None:
        if self._document is not None:
            self._document.close()
            self._document = None

    def __enter__(self) -> PdfText:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def ocr_engine() -> str | None:
    """'tesseract X.Y' when OCR can run here (pytesseract importable and the binary found, and
    $PAGELENS_OCR is not 'off'), else None."""
    if os.environ.get("PAGELENS_OCR", "").strip().lower() in ("off", "0", "no", "false"):
        return None
    return _detected_ocr()


@functools.cache
def _detected_ocr() -> str | None:
    if shutil.which("tesseract") is None:
        return None
    try:
        import pytesseract

        return f"tesseract {pytesseract.get_tesseract_version()}"
    except Exception as exc:
        log.debug("OCR unavailable: %s", exc)
        return None


def ocr_page(document: Document, number: int, image: Image.Image, password: str | None = None) -> str:
    """OCR of page `number` of `document`, read from a render of at least OCR_SIDE pixels (the model's own
    render, often 448-1024 px, is too small for OCR); "" without an OCR engine."""
    if ocr_engine() is None:
        return ""
    if max(image.size) < OCR_SIDE:
        from pagelens.sources.pages import iter_pages

        try:
            for page in iter_pages(document, OCR_SIDE, password, start_page=number):
                image = page.image
                break
        except Exception as exc:  # the model's render still works for OCR, just less well
            log.info("%s: page %d: no larger render for OCR (%s)", document.path, number, exc)
    return ocr_text(image)


def ocr_text(image: Image.Image) -> str:
    """The text OCR reads on a page image; "" without an OCR engine or when it fails."""
    if ocr_engine() is None:
        return ""
    try:
        import pytesseract

        return clean_text(pytesseract.image_to_string(image, timeout=OCR_TIMEOUT_SECONDS))
    except Exception as exc:
        log.info("OCR failed on a page (%s); the page has no text", exc)
        return ""
