"""The search engine's local data on a real Milvus Lite index: pruning that keeps recall, and a local copy that
is verified against the index (foreign, stale and compacted caches, a deleted Milvus folder, damaged files)."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

import pagelens
from clustered import clustered_pages as _clustered_pages
from clustered import unit as _unit
from pagelens.errors import NotFoundError
from pagelens.search.maxsim import maxsim
from pagelens.store.bfloat16 import as_stored


def _records(pages: list[np.ndarray], prefix: str = "doc") -> list[dict]:
    return [{"path": f"{prefix}{i // 4}.pdf", "page": i % 4 + 1, "embedding": p} for i, p in enumerate(pages)]


def test_default_search_prunes_and_keeps_recall_on_unseen_data(tmp_path: Path) -> None:
    pages, queries = _clustered_pages(800, seed=11)
    with pagelens.open(tmp_path / "idx", candidates=24) as index:
        index.add_embeddings(_records(pages))
        recalls, scored = [], []
        for query in queries:
            exact = index.search_embedding(query, k=10, exact=True)
            assert index.retriever.trace.exact == 800
            approximate = index.search_embedding(query, k=10)
            scored.append(index.retriever.trace.exact)
            truth = {h.page_id for h in exact}
            recalls.append(len(truth & {h.page_id for h in approximate}) / 10)
            for hit in approximate:  # what is returned is scored exactly, whichever pages reached that stage
                if hit.page_id in truth:
                    assert hit.score == pytest.approx(
                        next(h.score for h in exact if h.page_id == hit.page_id)
                    )
        assert max(scored) <= 800 / 2 and np.mean(scored) < 800 / 4, scored  # it prunes
        # a small budget on purpose: queries mixing two pages of one topic have flat scores
        assert np.mean(recalls) >= 0.95 and min(recalls) >= 0.7, recalls
        # scores are MaxSim over the stored (bfloat16) vectors
        top = index.search_embedding(queries[0], k=1, exact=True)[0]
        own = pages[(int(top.path[3:-4])) * 4 + top.page - 1]
        assert top.score == pytest.approx(maxsim(queries[0], as_stored(own)), abs=1e-4)


def _manifest(index_folder: Path) -> dict:
    return json.loads((index_folder / "cache" / "manifest.json").read_text())


def test_a_foreign_cache_is_rebuilt_not_served(tmp_path: Path) -> None:
    pages_a, queries = _clustered_pages(40, seed=1)
    pages_b, _ = _clustered_pages(40, seed=2)
    with pagelens.open(tmp_path / "a") as index:
        index.add_embeddings(_records(pages_a))
        index.search_embedding(queries[0], k=3)
    with pagelens.open(tmp_path / "b") as index:
        index.add_embeddings(_records(pages_b))
        expected = [(h.path, h.page, h.score) for h in index.search_embedding(queries[0], k=5, exact=True)]
        own_id = index.info.index_id
    shutil.rmtree(tmp_path / "b" / "cache")
    shutil.copytree(tmp_path / "a" / "cache", tmp_path / "b" / "cache")  # another index's cache
    assert _manifest(tmp_path / "b")["index_id"] != own_id
    with pagelens.open(tmp_path / "b") as index:
        got = [(h.path, h.page, h.score) for h in index.search_embedding(queries[0], k=5)]
        assert got == expected
    assert _manifest(tmp_path / "b")["index_id"] == own_id


def test_deleting_the_milvus_folder_never_serves_the_old_vectors(tmp_path: Path) -> None:
    old, queries = _clustered_pages(30, seed=3)
    new, _ = _clustered_pages(30, seed=4)
    folder = tmp_path / "idx"
    with pagelens.open(folder) as index:
        index.add_embeddings(_records(old, "old"))
        index.search_embedding(queries[0], k=3)
    shutil.rmtree(folder / "milvus.db")  # cache/ and vectors/ stay behind
    with pagelens.open(folder) as index:
        index.add_embeddings(_records(new, "new"))  # the same paths' vectors differ: another model, say
        hits = index.search_embedding(queries[0], k=30)
        assert {h.path[:3] for h in hits} == {"new"}
        for hit in hits:
            own = new[int(hit.path[3:-4]) * 4 + hit.page - 1]
            assert hit.score == pytest.approx(maxsim(queries[0], as_stored(own)), abs=1e-4)


def test_stale_manifest_and_compaction_keep_results_exact(tmp_path: Path) -> None:
    pages, queries = _clustered_pages(48, seed=5)
    folder = tmp_path / "idx"
    with pagelens.open(folder) as index:
        for start in range(0, 48, 4):  # one cache segment per call
            index.add_embeddings(_records(pages[start : start + 4], f"d{start:02d}-"))
        index.search_embedding(queries[0], k=3)
        assert len(_manifest(folder)["segments"]) == 12
        removed = index.remove([f"d{s:02d}-0.pdf" for s in range(0, 40, 4)])
        assert removed == 10
        hits = index.search_embedding(queries[0], k=48)  # 40 of 48 cached pages are dead: compacted
        assert len(hits) == 8 and all(h.path.startswith(("d40", "d44")) for h in hits)
        assert len(_manifest(folder)["segments"]) == 1
    with pagelens.open(folder) as index:  # the compacted cache serves a fresh process
        assert [(h.page_id, h.score) for h in index.search_embedding(queries[0], k=48)] == [
            (h.page_id, h.score) for h in hits
        ]
    manifest = _manifest(folder)
    manifest["segments"].append("gone-segment")  # a manifest naming a segment that is not there
    (folder / "cache" / "manifest.json").write_text(json.dumps(manifest))
    with pagelens.open(folder) as index:
        again = index.search_embedding(queries[0], k=48)
        assert [(h.page_id, h.score) for h in again] == [(h.page_id, h.score) for h in hits]


def test_damaged_vector_files_leave_the_page_out_with_a_reason(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="pagelens")  # whatever level an earlier in-process CLI run left
    pages, queries = _clustered_pages(12, seed=6)
    folder = tmp_path / "idx"
    with pagelens.open(folder) as index:
        index.add_embeddings(_records(pages))
        first = index.search_embedding(queries[0], k=12, exact=True)
        assert len(first) == 12
    shutil.rmtree(folder / "cache")
    data = next((folder / "vectors").glob("*.bf16"))
    raw = bytearray(data.read_bytes())
    raw[100:200] = bytes(100)  # zero a few bytes of the first page
    data.write_bytes(bytes(raw))
    with pagelens.open(folder) as index:
        hits = index.search_embedding(queries[0], k=12, exact=True)
        assert len(hits) == 11
        damaged = next(iter(set(index.catalog.by_id) - {h.page_id for h in hits}))
        with pytest.raises(NotFoundError, match="no readable vectors"):
            index.similar(damaged)
    assert "checksum" in caplog.text


def test_every_commit_changes_the_generation(tmp_path: Path) -> None:
    pages, _ = _clustered_pages(8, seed=7)
    with pagelens.open(tmp_path / "idx") as index:
        index.add_embeddings(_records(pages[:4]))
        first = index.store.generation()
        index.add_embeddings(_records(pages[4:], "other"))
        second = index.store.generation()
        index.remove("other0.pdf")
        third = index.store.generation()
        assert len({first, second, third}) == 3 and all(
            json.loads(g)["token"] for g in (first, second, third)
        )


def test_vector_files_are_compacted_once_mostly_dead(tmp_path: Path) -> None:
    pages, queries = _clustered_pages(40, seed=8)
    folder = tmp_path / "idx"
    with pagelens.open(folder) as index:
        index.add_embeddings(_records(pages))
        before = {h.page_id: h.score for h in index.search_embedding(queries[0], k=40, exact=True)}
        files_before = sorted(p.name for p in (folder / "vectors").glob("*.bf16"))
        size_before = sum(p.stat().st_size for p in (folder / "vectors").glob("*.bf16"))
        index.remove([f"doc{i}.pdf" for i in range(7)])  # 28 of 40 pages: most bytes are dead
        files_after = sorted(p.name for p in (folder / "vectors").glob("*.bf16"))
        size_after = sum(p.stat().st_size for p in (folder / "vectors").glob("*.bf16"))
        assert not set(files_before) & set(files_after) and size_after < size_before * 0.4
        hits = index.search_embedding(queries[0], k=40)
        assert len(hits) == 12 and all(h.score == pytest.approx(before[h.page_id]) for h in hits)
    with pagelens.open(folder) as index:  # the moved pages serve a fresh process too
        again = index.search_embedding(queries[0], k=40, exact=True)
        assert [(h.page_id, h.score) for h in again] == [(h.page_id, h.score) for h in hits]


def test_a_second_process_on_one_cache_folder_works_in_a_private_one(tmp_path: Path) -> None:
    from pagelens.search.cache import CacheIdentity, VectorCache

    identity = CacheIdentity("some-index", "m", 128)
    page = _unit(np.random.default_rng(9).standard_normal((30, 128)))
    first = VectorCache(tmp_path / "cache", identity)  # a server index's cache: it keeps its own copy
    first.add([1], [page])
    second = VectorCache(tmp_path / "cache", identity)  # as another process would (the lock is per open file)
    try:
        assert second.folder != first.folder and second.segments == []
        second.add([2], [page])
        assert [s.page_ids.tolist() for s in first.segments] == [[1]]
        np.testing.assert_array_equal(first.vectors.read(first.segments[0].ref(0)), as_stored(page))
    finally:
        second.close()
        first.close()
    assert not second.folder.exists()
    reopened = VectorCache(tmp_path / "cache", identity)
    try:
        assert [s.page_ids.tolist() for s in reopened.segments] == [[1]]
    finally:
        reopened.close()


def test_vector_files_of_another_index_are_refused_not_read(tmp_path: Path) -> None:
    from pagelens.errors import IndexMismatchError

    pages, queries = _clustered_pages(8, seed=10)
    for name in ("a", "b"):
        with pagelens.open(tmp_path / name) as index:
            index.add_embeddings(_records(pages, name))
    shutil.rmtree(tmp_path / "b" / "vectors")
    shutil.copytree(tmp_path / "a" / "vectors", tmp_path / "b" / "vectors")  # a's bytes under b's rows
    shutil.rmtree(tmp_path / "b" / "cache")
    with (
        pagelens.open(tmp_path / "b") as index,
        pytest.raises(IndexMismatchError, match="holds vectors of index"),
    ):
        index.search_embedding(queries[0], k=3)


def test_the_catalog_snapshot_is_used_only_at_the_same_generation(tmp_path: Path) -> None:
    pages, queries = _clustered_pages(12, seed=12)
    folder = tmp_path / "idx"
    with pagelens.open(folder) as index:
        index.add_embeddings(_records(pages[:8]))
        first = {h.page_id for h in index.search_embedding(queries[0], k=12)}
        generation = index.store.generation()
    snapshot = json.loads((folder / "cache" / "catalog.json").read_text())
    assert snapshot["generation"] == generation and len(snapshot["pages"]) == 8
    with pagelens.open(folder) as index:  # same generation: served from the snapshot, same answers
        assert {h.page_id for h in index.search_embedding(queries[0], k=12)} == first
        index.add_embeddings(_records(pages[8:], "more"))  # a commit: the snapshot is stale from now on
        assert len(index.search_embedding(queries[0], k=12)) == 12
    stale = json.loads((folder / "cache" / "catalog.json").read_text())
    assert stale["generation"] != generation and len(stale["pages"]) == 12
    snapshot["pages"] = snapshot["pages"][:2]  # a snapshot that disagrees with Milvus, at an old generation
    (folder / "cache" / "catalog.json").write_text(json.dumps(snapshot))
    with pagelens.open(folder) as index:
        assert len(index.search_embedding(queries[0], k=12)) == 12  # Milvus' truth, not the old file
