"""Fonts that ship inside the libraries (never system fonts), so every machine draws the same glyphs."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PIL import ImageFont

VERA = {"regular": "Vera.ttf", "bold": "VeraBd.ttf", "italic": "VeraIt.ttf", "bold-italic": "VeraBI.ttf"}
FAMILY = "SampleVera"


def vera_path(style: str = "regular") -> Path:
    """A Bitstream Vera TTF from reportlab's own fonts folder."""
    import reportlab

    return Path(reportlab.__file__).parent / "fonts" / VERA[style]


@cache
def register_pdf_fonts() -> str:
    """Register the Vera family with reportlab (embedded in each PDF); return the family name."""
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    names = {style: f"{FAMILY}-{style}" for style in VERA}
    for style, name in names.items():
        pdfmetrics.registerFont(TTFont(name, str(vera_path(style))))
    for bold, italic, style in ((0, 0, "regular"), (1, 0, "bold"), (0, 1, "italic"), (1, 1, "bold-italic")):
        addMapping(FAMILY, bold, italic, names[style])
    return FAMILY


def pdf_font(style: str = "regular") -> str:
    register_pdf_fonts()
    return f"{FAMILY}-{style}"


@cache
def raster_font(size: int, style: str = "regular") -> ImageFont.FreeTypeFont:
    """Vera at `size` pixels for drawing scanned-looking pages with Pillow."""
    return ImageFont.truetype(str(vera_path(style)), size)
