"""Sources: discovering files, rendering real PDFs and images, clear errors for bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from conftest import PAPER, REPORT
from pagelens.errors import PasswordRequiredError, SourceError
from pagelens.samples import PASSWORD
from pagelens.sources import Document, count_pages, discover, iter_pages
from pagelens.sources.pdf import MAX_PAGE_PIXELS, render_scale


def test_pdf_pages_are_rendered_lazily_one_based_at_the_requested_side(samples: Path) -> None:
    document = Document.from_path(samples / PAPER)
    assert document.kind == "pdf" and len(document.content_hash) == 64
    assert count_pages(document) == 8
    pages = iter_pages(document, image_side=320)
    first = next(pages)
    assert first.page == 1 and max(first.image.size) == 320 and first.image.mode == "RGB"
    rest = list(pages)
    assert [p.page for p in rest] == list(range(2, 9))


def test_start_page_skips_earlier_pages(samples: Path) -> None:
    document = Document.from_path(samples / REPORT)
    assert [p.page for p in iter_pages(document, 64, start_page=5)] == [5, 6]


def test_render_scale_caps_pixels_for_huge_pages() -> None:
    scale = render_scale(200 * 72, 200 * 72, image_side=100_000)
    assert (200 * 72 * scale) ** 2 <= MAX_PAGE_PIXELS * 1.0001
    with pytest.raises(ValueError):
        render_scale(0, 10, 100)


def test_encrypted_pdf_needs_a_password(broken_samples: Path) -> None:
    path = broken_samples / "encrypted.pdf"
    document = Document.from_path(path)
    with pytest.raises(PasswordRequiredError) as error:
        count_pages(document)
    assert error.value.path == str(path.resolve()) and "password" in error.value.reason
    with pytest.raises(PasswordRequiredError, match="wrong password"):
        count_pages(document, password="not-it")
    assert count_pages(document, password=PASSWORD) == 1


def test_a_text_file_named_pdf_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "notes.pdf"
    fake.write_text("this is not a PDF")
    with pytest.raises(SourceError, match="not a readable PDF"):
        count_pages(Document.from_path(fake))


def test_truncated_pdf_is_a_clear_error(tmp_path: Path, samples: Path) -> None:
    data = (samples / REPORT).read_bytes()
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(data[: len(data) // 3])
    with pytest.raises(SourceError):
        list(iter_pages(Document.from_path(truncated), 64))


def _page_images(samples: Path, count: int) -> list[Image.Image]:
    document = Document.from_path(samples / REPORT)
    return [p.image for p in iter_pages(document, 200)][:count]


def test_images_of_each_format_and_multipage_tiff(tmp_path: Path, samples: Path) -> None:
    images = _page_images(samples, 3)
    for suffix in ("png", "jpg", "webp"):
        images[0].save(tmp_path / f"page.{suffix}")
        document = Document.from_path(tmp_path / f"page.{suffix}")
        assert document.kind == "image" and count_pages(document) == 1
        (page,) = iter_pages(document, 100)
        assert page.page == 1 and max(page.image.size) <= 200
    images[0].save(tmp_path / "scan.tiff", save_all=True, append_images=images[1:])
    document = Document.from_path(tmp_path / "scan.tiff")
    assert count_pages(document) == 3
    assert [p.page for p in iter_pages(document, 100)] == [1, 2, 3]


def test_unsupported_image_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(SourceError, match="not a supported image"):
        count_pages(Document.from_path(broken))


def test_discover_walks_folders_with_globs_and_reports_missing(tmp_path: Path, samples: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    shutil.copy(samples / PAPER, tmp_path / "a" / "attention.pdf")
    shutil.copy(samples / REPORT, tmp_path / "a" / "b" / "report.pdf")
    (tmp_path / "a" / "notes.txt").write_text("skip me")
    (tmp_path / "a" / ".hidden.pdf").write_bytes(b"%PDF")
    found = discover([tmp_path / "a"])
    assert [p.name for p in found] == ["attention.pdf", "report.pdf"]
    assert [p.name for p in discover([tmp_path / "a"], exclude=["b/*"])] == ["attention.pdf"]
    assert [p.name for p in discover([tmp_path / "a"], include=["*.txt"])] == ["notes.txt"]
    assert [p.name for p in discover([str(tmp_path / "a" / "**" / "*.pdf")])] == [
        "attention.pdf",
        "report.pdf",
    ]
    errors: list[SourceError] = []
    assert discover([tmp_path / "missing.pdf", tmp_path / "a"], errors=errors)
    assert errors[0].reason == "no such file or folder"
    with pytest.raises(SourceError):
        discover([tmp_path / "missing.pdf"])


def test_same_bytes_same_hash_whatever_the_name(tmp_path: Path, samples: Path) -> None:
    source = samples / REPORT
    shutil.copy(source, tmp_path / "renamed.pdf")
    assert (
        Document.from_path(source).content_hash == Document.from_path(tmp_path / "renamed.pdf").content_hash
    )
