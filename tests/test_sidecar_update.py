"""A changed `<file>.json` sidecar is picked up on the next `add` without re-embedding (issue 18, point 6):
the document's row and its pages' rows (what `--where` filters read) take the new metadata; the vectors stay.
Real Milvus Lite, the deterministic fake embedder."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

import pagelens


def _write_pages(folder: Path) -> None:
    folder.mkdir()
    for name, colour in (("a.png", (200, 30, 30)), ("b.png", (30, 30, 200))):
        Image.new("RGB", (64, 96), colour).save(folder / name)


def _paths_where(index: pagelens.Index, metadata: dict[str, object]) -> list[str]:
    hits = index.search("red page", k=5, filter={"metadata": metadata}, mode="visual")
    return sorted(h.path for h in hits)


def test_changed_sidecar_updates_metadata_without_reembedding(tmp_path: Path, fake_index) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    _write_pages(docs)
    sidecar = docs / "a.png.json"
    sidecar.write_text(json.dumps({"year": 2021, "team": "red"}))
    index = fake_index()
    first = index.add(docs)
    assert first.documents_added == 2 and first.pages_added == 2
    embedded = index.embedder.images_embedded
    assert _paths_where(index, {"year": 2021}) == [str(docs / "a.png")]

    sidecar.write_text(json.dumps({"year": 2024, "team": "red"}))
    second = index.add(docs)
    assert (second.documents_updated, second.documents_unchanged, second.pages_added) == (1, 1, 0)
    assert "1 with new metadata (no re-embedding)" in second.summary()
    assert index.embedder.images_embedded == embedded  # nothing was embedded again
    assert _paths_where(index, {"year": 2021}) == []
    assert _paths_where(index, {"year": {">=": 2022}}) == [str(docs / "a.png")]
    record = index.store.get_documents([str(docs / "a.png")])[0]
    assert record.metadata == {"year": 2024, "team": "red"}
    hit = index.search("red page", k=5, filter={"metadata": {"team": "red"}}, mode="visual")[0]
    assert hit.metadata == {"year": 2024, "team": "red"}

    third = index.add(docs)  # the same sidecar again: nothing to do
    assert (third.documents_updated, third.documents_unchanged) == (0, 2)

    sidecar.unlink()  # no sidecar any more: the document has no metadata
    fourth = index.add(docs)
    assert fourth.documents_updated == 1 and fourth.pages_added == 0
    assert _paths_where(index, {"team": "red"}) == []
    assert index.embedder.images_embedded == embedded


def test_a_reopened_index_sees_the_new_metadata(tmp_path: Path) -> None:
    from fakes import FakeEmbedder

    docs = tmp_path / "docs"
    _write_pages(docs)
    (docs / "b.png.json").write_text(json.dumps({"lang": "en"}))
    with pagelens.open(tmp_path / "index", embedder=FakeEmbedder()) as index:
        index.add(docs)
        assert _paths_where(index, {"lang": "en"}) == [str(docs / "b.png")]  # its catalog is now on disk
    (docs / "b.png.json").write_text(json.dumps({"lang": "de"}))
    with pagelens.open(tmp_path / "index", embedder=FakeEmbedder()) as index:  # a later CLI run
        assert index.add(docs).documents_updated == 1
    with pagelens.open(tmp_path / "index", embedder=FakeEmbedder()) as reopened:
        assert _paths_where(reopened, {"lang": "de"}) == [str(docs / "b.png")]
        assert _paths_where(reopened, {"lang": "en"}) == []
