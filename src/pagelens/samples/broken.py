"""Files that look like documents and are not, as a real folder holds them: for tests and demos of how
pagelens reports bad input (each one must be named with a reason, never stop the good files)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from pagelens.samples.fonts import pdf_font


def _one_page_pdf(text: str, encrypt: object | None = None) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1, encrypt=encrypt)
    canvas.setFont(pdf_font("bold"), 18)
    canvas.drawString(72, A4[1] - 96, text)
    canvas.setFont(pdf_font(), 11)
    for line in range(30):
        canvas.drawString(72, A4[1] - 140 - 18 * line, f"Line {line + 1}: quarterly figures and notes.")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def zero_page_pdf() -> bytes:
    """A well-formed PDF (catalog, empty page tree, exact xref offsets) with no pages."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def write_broken(folder: Path) -> list[Path]:
    from reportlab.lib.pdfencrypt import StandardEncryption

    from pagelens.samples import BROKEN, PASSWORD

    whole = _one_page_pdf("Quarterly figures (this copy was cut short)")
    locked = StandardEncryption(PASSWORD, ownerPassword="owner-" + PASSWORD, strength=128)
    contents = {
        "truncated.pdf": whole[: len(whole) // 3],
        "encrypted.pdf": _one_page_pdf("Board minutes (confidential)", encrypt=locked),
        "zero_pages.pdf": zero_page_pdf(),
        "garbage.pdf": b"%PDF-1.7\n" + np.random.default_rng(404).bytes(4096),
        "not_a_pdf.pdf": b"Meeting notes, 3 March: revenue up, margins steady.\n",
        "empty.png": b"",
    }
    assert list(contents) == list(BROKEN)
    paths = []
    for name, data in contents.items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths
