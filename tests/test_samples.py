"""The generated sample documents: the pages they promise, the same bytes on every run, broken files that
fail with a clear reason."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pagelens.errors import PasswordRequiredError, SourceError
from pagelens.samples import BROKEN, PASSWORD, SAMPLES, write_samples
from pagelens.sources import Document, count_pages


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_samples_have_their_pages_and_the_same_bytes_every_time(samples: Path, tmp_path: Path) -> None:
    assert sorted(p.name for p in samples.iterdir()) == sorted(SAMPLES)
    for name, pages in SAMPLES.items():
        assert count_pages(Document.from_path(samples / name)) == pages, name
    again = write_samples(tmp_path / "again")
    assert [p.name for p in again] == list(SAMPLES)
    assert _digests(tmp_path / "again") == _digests(samples)


def test_broken_samples_fail_with_a_reason(broken_samples: Path) -> None:
    assert sorted(p.name for p in broken_samples.iterdir()) == sorted(BROKEN)
    for name in BROKEN:
        document = Document.from_path(broken_samples / name)
        with pytest.raises(SourceError) as error:
            count_pages(document)
        assert error.value.reason, name
    locked = Document.from_path(broken_samples / "encrypted.pdf")
    with pytest.raises(PasswordRequiredError):
        count_pages(locked)
    assert count_pages(locked, password=PASSWORD) == 1
