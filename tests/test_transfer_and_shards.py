"""Moving an index without re-embedding (export -> import), and sharded indexing equal to one process."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import pagelens
from conftest import REPORT
from crash_check import snapshot
from fakes import FakeEmbedder
from pagelens.cli import main
from pagelens.errors import IndexMismatchError, UsageError
from pagelens.ingest import in_shard, parse_shard


def test_export_import_round_trip_gives_identical_search(fake_index, docs_copy: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = fake_index("source")
    (docs_copy / "broken.pdf").write_bytes(b"not a pdf")
    source.add([docs_copy])
    query = source.embedder.embed_queries(["financial chart revenue"])[0]
    before = [(h.path, h.page, h.page_id, h.score) for h in source.search_embedding(query, k=10)]
    text_before = [(h.path, h.page, h.snippet) for h in source.search("revenue", k=5, mode="text")]
    assert text_before  # the samples have a text layer: the export must carry it
    status_before = source.status()
    report = source.export(tmp_path / "export")
    assert (report.documents, report.pages) == (3, 14)
    with pytest.raises(UsageError, match="not empty"):
        source.export(tmp_path / "export")

    target = pagelens.open(tmp_path / "target")  # no model: the export carries the model id
    try:
        imported = target.import_(tmp_path / "export")
        assert (imported.documents, imported.pages) == (3, 14)
        after = [(h.path, h.page, h.page_id, h.score) for h in target.search_embedding(query, k=10)]
        assert [h[:3] for h in after] == [h[:3] for h in before]
        assert [
            (h.path, h.page, h.snippet) for h in target.search("revenue", k=5, mode="text")
        ] == text_before
        np.testing.assert_allclose([h[3] for h in after], [h[3] for h in before], rtol=1e-6)  # float32 sums
        status = target.status()
        assert (status.model, status.pages, status.vectors) == (
            status_before.model,
            14,
            status_before.vectors,
        )
        assert [f.path for f in status.failed] == [f.path for f in status_before.failed]
        again = target.import_(tmp_path / "export")
        assert again.documents == 0 and again.skipped_documents == 3 and again.pages == 0
    finally:
        target.close()


def test_import_into_an_index_of_another_model_is_refused(
    fake_index, docs_copy: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    source = fake_index("source")
    source.add([docs_copy / REPORT])
    source.export(tmp_path / "export")
    other = pagelens.open(tmp_path / "other", model="another/model")
    try:
        other.add_embeddings([{"path": "x", "page": 1, "embedding": np.ones((2, 128))}])
        with pytest.raises(IndexMismatchError, match="fake-embedder"):
            other.import_(tmp_path / "export")
    finally:
        other.close()


def test_shards_are_disjoint_and_cover_everything() -> None:
    paths = [f"/data/doc{i}.pdf" for i in range(200)]
    owners = [[p for p in paths if in_shard(p, (i, 3))] for i in (1, 2, 3)]
    assert sorted(sum(owners, [])) == sorted(paths)
    assert all(len(o) > 30 for o in owners)
    assert parse_shard("2/4") == (2, 4)
    for bad in ("0/4", "5/4", "x"):
        with pytest.raises(UsageError):
            parse_shard(bad)


def test_sharded_runs_equal_a_single_run(docs_copy: Path, samples: Path, tmp_path: Path) -> None:
    import shutil

    for name in ("climate_brief.pdf", "inspection_scan.pdf", "invoice_scan.jpg", "sales_chart.png"):
        shutil.copy(samples / name, docs_copy / name)
    with pagelens.open(tmp_path / "single", embedder=FakeEmbedder()) as index:
        index.add([docs_copy], progress=False)
    for part in (1, 2, 3):
        with pagelens.open(tmp_path / "sharded", embedder=FakeEmbedder()) as index:
            report = index.add([docs_copy], progress=False, shard=(part, 3))
            assert report.ok
    single, sharded = snapshot(tmp_path / "single"), snapshot(tmp_path / "sharded")
    assert single["documents"] == sharded["documents"] and single["page_ids"] == sharded["page_ids"]
    assert all(np.array_equal(single["vectors"][k], sharded["vectors"][k]) for k in single["vectors"])


def test_cli_export_import_and_shard_flags(fake_index, docs_copy: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    source = fake_index("source")
    source.add([docs_copy])
    source.close()
    assert main(["export", str(tmp_path / "out"), "--index", str(tmp_path / "source")]) == 0
    assert main(["import", str(tmp_path / "out"), "--index", str(tmp_path / "copy")]) == 0
    assert main(["status", "--index", str(tmp_path / "copy"), "--json"]) == 0
    assert '"pages": 14' in capsys.readouterr().out
    assert main(["index", str(docs_copy), "--index", str(tmp_path / "x"), "--shard", "9/2"]) == 2
