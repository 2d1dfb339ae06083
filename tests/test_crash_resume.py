"""kill -9 at random moments during `index`: the index always opens, serves only complete documents, and a
re-run finishes the work so the result equals a clean run's (same page ids, same vectors, no duplicates)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest

import pagelens
from crash_check import differences, run_indexer, snapshot
from pagelens.samples import SAMPLES

pytestmark = pytest.mark.e2e  # kills indexer subprocesses


@pytest.fixture
def folder(tmp_path: Path, samples: Path) -> Path:
    """Every generated sample (four PDFs, a JPEG and a PNG: 22 pages), copied."""
    target = tmp_path / "in"
    target.mkdir()
    for name in SAMPLES:
        shutil.copy(samples / name, target / name)
    return target


def _only_complete_documents_are_live(index_path: Path) -> None:
    with pagelens.open(index_path) as index:
        if index.info.dim is None:
            return
        pages_by_hash: dict[str, int] = {}
        for page in index.store.list_pages():
            pages_by_hash[page.content_hash] = pages_by_hash.get(page.content_hash, 0) + 1
        for document in index.documents():
            if document.status == "indexed":
                assert pages_by_hash.get(document.content_hash) == document.pages, document.path
        hits = index.search_embedding(np.ones((2, 128), dtype=np.float32), k=1000)
        live = {d.content_hash for d in index.documents() if d.status == "indexed"}
        assert {h.content_hash for h in hits} <= live


def test_kill_at_random_points_then_resume_equals_a_clean_run(tmp_path: Path, folder: Path) -> None:
    started = time.monotonic()
    clean = run_indexer(tmp_path / "clean", [folder])
    clean_seconds = time.monotonic() - started
    assert clean is not None and not clean["failed"]
    expected = snapshot(tmp_path / "clean")

    # kill moments within a clean run's own duration (process start included), so the first run is cut
    # mid-way on a fast machine as on a loaded one (a fixed 1-4 s window outlived the whole run when idle)
    rng = np.random.default_rng(1234)
    killed = 0
    for _ in range(3):
        kill_after = float(rng.uniform(0.3, 0.8)) * clean_seconds
        if run_indexer(tmp_path / "crashed", [folder], kill_after=kill_after) is None:
            killed += 1
            _only_complete_documents_are_live(tmp_path / "crashed")
    final = run_indexer(tmp_path / "crashed", [folder])
    assert final is not None and not final["failed"]
    assert killed >= 1, "no run was killed mid-way: raise the kill window"
    assert differences(snapshot(tmp_path / "crashed"), expected) == []
    # and nothing complete was embedded twice: the last run only did what the kills left undone
    total = sum(d[3] for d in expected["documents"])
    assert final["pages_added"] + final["pages_resumed"] <= total
