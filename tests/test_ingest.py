"""Indexing real PDFs (with a fake embedder: the model is beside the point here): incremental re-runs,
renames, edits, removals, and bad files that never stop the good ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from conftest import PAPER, REPORT
from pagelens.samples import PASSWORD
from pagelens.search.maxsim import maxsim
from pagelens.sources import Document, iter_pages
from pagelens.store.bfloat16 import as_stored


def test_index_then_search_matches_brute_force_over_the_embedder(fake_index, docs_copy: Path) -> None:  # type: ignore[no-untyped-def]
    index = fake_index()
    report = index.add([docs_copy])
    assert report.ok and report.pages_added == 14 and report.documents_added == 2
    assert set(report.timings) == {"rasterize", "embed", "store"}
    embedder = index.embedder
    pages = [
        (p.document.path, p.page, embedder.embed_images([p.image])[0])
        for pdf in sorted(docs_copy.glob("*.pdf"))
        for p in iter_pages(Document.from_path(pdf), embedder.image_side)
    ]
    query = embedder.embed_queries(["annual revenue chart"])[0]
    expected = sorted(
        ((path, n, maxsim(query, as_stored(v))) for path, n, v in pages),
        key=lambda t: -t[2],
    )
    hits = index.search("annual revenue chart", k=14, mode="visual")  # MaxSim alone (the default fuses text)
    assert [(h.path, h.page) for h in hits] == [(p, n) for p, n, _ in expected]
    np.testing.assert_allclose([h.score for h in hits], [s for *_, s in expected], atol=1e-4)
    image = hits[0].image()
    assert image.size[0] > 0


def test_rerun_skips_unchanged_rename_moves_edit_replaces_remove_drops(fake_index, docs_copy: Path) -> None:  # type: ignore[no-untyped-def]
    index = fake_index()
    index.add([docs_copy])
    embedded = index.embedder.images_embedded
    again = index.add([docs_copy])
    assert again.documents_unchanged == 2 and again.pages_added == 0
    assert index.embedder.images_embedded == embedded  # nothing re-embedded

    (docs_copy / REPORT).rename(docs_copy / "renamed.pdf")
    moved = index.add([docs_copy], prune=True)
    assert moved.documents_moved == 1 and moved.pages_added == 0
    assert index.embedder.images_embedded == embedded
    paths = {Path(d.path).name for d in index.documents()}
    assert paths == {PAPER, "renamed.pdf"}

    # an edit: another PDF's bytes under the same name replace the old pages, none of them linger
    shutil.copy(docs_copy / "renamed.pdf", docs_copy / "copy.pdf")
    replaced = index.add([docs_copy])
    assert replaced.documents_moved == 1  # the copy is recognised by content
    source = Path(index.documents()[0].path).parent
    shutil.copy(source / PAPER, docs_copy / "copy.pdf.tmp")
    (docs_copy / "copy.pdf.tmp").rename(docs_copy / "renamed.pdf")
    edited = index.add([docs_copy])
    assert edited.documents_moved == 1 and edited.pages_added == 0  # same bytes as the paper
    status = index.status()
    assert status.documents == 3 and status.pages == 8 + 6

    removed = index.remove([docs_copy / "copy.pdf"])
    assert removed == 1
    assert index.status().pages == 8
    hits = index.search("retrieval", k=50)
    assert {Path(h.path).name for h in hits} <= {PAPER, "renamed.pdf"}
    assert len(hits) == 8


def test_bad_files_are_reported_once_and_never_stop_good_ones(
    fake_index, docs_copy: Path, broken_samples: Path
) -> None:  # type: ignore[no-untyped-def]
    (docs_copy / "not-a.pdf").write_text("plain text with a pdf name")
    shutil.copy(broken_samples / "encrypted.pdf", docs_copy / "locked.pdf")
    (docs_copy / "empty.png").write_bytes(b"")
    index = fake_index()
    report = index.add([docs_copy, docs_copy / "missing.pdf"])
    reasons = {Path(f.path).name: f.reason for f in report.failed}
    assert set(reasons) == {"not-a.pdf", "locked.pdf", "empty.png", "missing.pdf"}
    assert "password" in reasons["locked.pdf"]
    assert report.documents_added == 2 and report.pages_added == 14
    failed = {Path(f.path).name for f in index.status().failed}
    assert failed == {"not-a.pdf", "locked.pdf", "empty.png"}  # a mistyped path is reported, not kept
    fixed = index.add([docs_copy / "locked.pdf"], password=PASSWORD)
    assert fixed.ok and fixed.documents_added == 1
    assert "locked.pdf" not in {Path(f.path).name for f in index.status().failed}
