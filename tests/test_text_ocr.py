"""OCR for pages without a text layer (the generated scans): used when pytesseract and the tesseract binary
are installed (the `ocr` extra), off otherwise, and reported by `status` either way."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pagelens.sources.text import _detected_ocr, ocr_engine, ocr_text

SCANS = ("inspection_scan.pdf", "invoice_scan.jpg")


def _scans(samples: Path, target: Path) -> Path:
    target.mkdir()
    for name in SCANS:
        shutil.copy(samples / name, target / name)
    return target


def test_without_ocr_scans_have_no_text_and_status_says_so(
    fake_index, samples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """No tesseract on PATH (as on a machine without the extra): here and in the render worker."""
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    _detected_ocr.cache_clear()
    index = fake_index()
    assert index.add([_scans(samples, tmp_path / "scans")], progress=False).ok
    status = index.status()
    assert status.ocr is None and status.pages_with_text == 0 and status.pages == 3
    hits = index.search("warehouse inspection", k=3)
    assert hits and hits[0].mode == "visual"  # no text: the default mode is visual
    from PIL import Image

    assert ocr_text(Image.new("RGB", (10, 10))) == ""
    monkeypatch.undo()
    _detected_ocr.cache_clear()


def test_pagelens_ocr_off_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGELENS_OCR", "off")
    assert ocr_engine() is None


@pytest.mark.skipif(ocr_engine() is None, reason="needs pytesseract and the tesseract binary (the ocr extra)")
def test_ocr_reads_the_scans_when_installed(fake_index, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    index = fake_index()
    assert index.add([_scans(samples, tmp_path / "scans")], progress=False).ok
    status = index.status()
    assert status.ocr and status.ocr.startswith("tesseract") and status.pages_with_text >= 2
    hits = index.search("warehouse safety inspection", k=3, mode="text")
    assert hits and hits[0].path.endswith("inspection_scan.pdf")
    assert "**" in (hits[0].snippet or "")
