"""Sample documents that pagelens makes itself: realistic, deterministic, a few seconds to write.

`write_samples(folder)` writes reports with tables and charts, a research paper, a climate brief, a scanned
inspection form (raster-only PDF pages, slightly rotated and noisy), a JPEG scan of an invoice and a PNG
chart, on four topics (finance, retrieval research, climate and energy, operations) so that searches mean
something. `write_broken_samples(folder)` writes the kinds of bad file a real folder holds (truncated,
password-protected, zero pages, random bytes, text named .pdf, an empty image).

The same library versions give the same bytes: fixed seeds, fonts that ship with reportlab (Bitstream Vera)
and matplotlib (DejaVu Sans), no system fonts, and reportlab's invariant mode (fixed dates and ids).

    python -m pagelens.samples OUT_DIR [--broken]

Needs the `samples` extra (`pip install "pagelens[samples]"`: reportlab and matplotlib).
"""

from __future__ import annotations

from pathlib import Path

# name -> pages, in the order `write_samples` returns them
SAMPLES: dict[str, int] = {
    "annual_report.pdf": 6,
    "retrieval_paper.pdf": 8,
    "climate_brief.pdf": 4,
    "inspection_scan.pdf": 2,
    "invoice_scan.jpg": 1,
    "sales_chart.png": 1,
}

# name -> what is wrong with it, in the order `write_broken_samples` returns them
BROKEN: dict[str, str] = {
    "truncated.pdf": "a one-page PDF cut to a third of its length",
    "encrypted.pdf": "a one-page PDF that needs the password PASSWORD",
    "zero_pages.pdf": "a well-formed PDF with no pages",
    "garbage.pdf": "random bytes after a %PDF header",
    "not_a_pdf.pdf": "plain text with a .pdf name",
    "empty.png": "zero bytes",
}
PASSWORD = "openpassword"


def write_samples(folder: str | Path) -> list[Path]:
    """Write every sample document into `folder` (created if missing); return their paths."""
    from pagelens.samples.documents import write_all

    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    return write_all(target)


def write_broken_samples(folder: str | Path) -> list[Path]:
    """Write the broken files into `folder` (created if missing); return their paths."""
    from pagelens.samples.broken import write_broken

    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    return write_broken(target)


__all__ = ["BROKEN", "PASSWORD", "SAMPLES", "write_broken_samples", "write_samples"]
