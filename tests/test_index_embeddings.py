"""The library facade with embeddings you bring: add_embeddings / search_embedding / similar, on real Milvus Lite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import pagelens
from pagelens.errors import IndexMismatchError, NotFoundError, UsageError
from pagelens.search.maxsim import maxsim
from pagelens.store.bfloat16 import as_stored


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _records(count: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [
        {
            "path": f"doc{i // 3}.pdf",
            "page": i % 3 + 1,
            "embedding": _unit(rng.standard_normal((int(rng.integers(20, 1200)), 128))),
            "metadata": {"n": i},
        }
        for i in range(count)
    ]


def _brute_force(query: np.ndarray, records: list[dict]) -> list[tuple[str, int, float]]:
    scored = [(r["path"], r["page"], maxsim(query, as_stored(r["embedding"]))) for r in records]
    return sorted(scored, key=lambda t: -t[2])


def test_search_embedding_equals_brute_force_maxsim(tmp_path: Path) -> None:
    records = _records(60)
    # random vectors have no structure for candidate generation to use: a budget covering every page makes the
    # non-exact path rank exactly too (its recall on realistic pages is measured in bench/search_bench.py)
    with pagelens.open(tmp_path / "idx", candidates=60) as index:
        report = index.add_embeddings(records)
        assert report.pages_added == 60 and report.documents_added == 20
        rng = np.random.default_rng(5)
        for _ in range(5):
            target = records[int(rng.integers(0, 60))]["embedding"]
            query = _unit(target[rng.choice(len(target), 20)] + 0.3 * rng.standard_normal((20, 128)))
            expected = _brute_force(query, records)
            for exact in (True, False):
                hits = index.search_embedding(query, k=10, exact=exact)
                assert [(h.path, h.page) for h in hits] == [(p, n) for p, n, _ in expected[:10]]
                np.testing.assert_allclose([h.score for h in hits], [s for *_, s in expected[:10]], atol=1e-4)
                assert [h.rank for h in hits] == list(range(1, 11))
        assert hits[0].metadata == {
            "n": next(
                r["metadata"]["n"] for r in records if r["path"] == hits[0].path and r["page"] == hits[0].page
            )
        }


def test_reopened_index_searches_the_same_and_rebuilds_a_deleted_cache(tmp_path: Path) -> None:
    records = _records(12, seed=1)
    query = _unit(np.random.default_rng(9).standard_normal((20, 128)))
    with pagelens.open(tmp_path / "idx") as index:
        index.add_embeddings(records)
        before = [(h.page_id, h.score) for h in index.search_embedding(query, k=5)]
    import shutil

    shutil.rmtree(tmp_path / "idx" / "cache")
    with pagelens.open(tmp_path / "idx") as index:
        after = [(h.page_id, h.score) for h in index.search_embedding(query, k=5)]
        assert index.status().pages == 12
    assert [p for p, _ in before] == [p for p, _ in after]
    np.testing.assert_allclose([s for _, s in before], [s for _, s in after], atol=1e-6)


def test_readding_identical_embeddings_is_a_no_op_and_changed_ones_replace(tmp_path: Path) -> None:
    records = _records(6, seed=2)
    with pagelens.open(tmp_path / "idx") as index:
        index.add_embeddings(records)
        again = index.add_embeddings(records)
        assert again.documents_unchanged == 2 and again.pages_added == 0
        changed = [dict(r) for r in records[:3]]
        changed[0]["embedding"] = _unit(np.ones((10, 128)))
        report = index.add_embeddings(changed)
        assert report.documents_replaced == 1
        status = index.status()
        assert (status.documents, status.pages) == (2, 6)
        hits = index.search_embedding(_unit(np.ones((3, 128))), k=1)
        assert (hits[0].path, hits[0].page) == ("doc0.pdf", 1)
        assert hits[0].score == pytest.approx(3.0, abs=1e-3)


def test_similar_excludes_the_page_itself_and_matches_a_query_by_its_vectors(tmp_path: Path) -> None:
    records = _records(15, seed=3)
    with pagelens.open(tmp_path / "idx") as index:
        index.add_embeddings(records)
        page_id = index.find_page("doc2.pdf", 2)
        similar = index.similar(page_id, k=4)
        assert page_id not in [h.page_id for h in similar]
        own = next(r for r in records if r["path"] == "doc2.pdf" and r["page"] == 2)["embedding"]
        by_vectors = index.search_embedding(as_stored(own), k=5, exact=True)
        assert by_vectors[0].page_id == page_id
        assert [h.page_id for h in by_vectors[1:]] == [h.page_id for h in similar]
        with pytest.raises(NotFoundError):
            index.find_page("doc2.pdf", 9)


def test_dimension_model_and_input_errors(tmp_path: Path) -> None:
    with pagelens.open(tmp_path / "idx") as index:
        index.add_embeddings(_records(3))
        with pytest.raises(IndexMismatchError, match="128-d"):
            index.add_embeddings([{"path": "x", "page": 1, "embedding": np.ones((3, 64))}])
        with pytest.raises(IndexMismatchError):
            index.search_embedding(np.ones((3, 64)))
        with pytest.raises(UsageError, match="missing 'embedding'"):
            index.add_embeddings([{"path": "x", "page": 1}])
        with pytest.raises(UsageError, match="NaN"):
            index.add_embeddings([{"path": "x", "page": 1, "embedding": np.full((2, 128), np.nan)}])
        with pytest.raises(UsageError, match="no model"):
            index.search("a text query")
        assert index.remove(["doc0.pdf"]) == 1
        assert index.status().pages == 0
        with pytest.raises(NotFoundError):
            index.remove(["doc0.pdf"])
    with pagelens.open(tmp_path / "idx2", model="some/model") as index:
        index._ensure_schema(128)
    with pytest.raises(IndexMismatchError, match="some/model"):
        pagelens.open(tmp_path / "idx2", model="another/model")


def test_a_large_query_is_pooled_for_candidates_but_scored_exactly(tmp_path: Path) -> None:
    records = _records(150, seed=4)
    with pagelens.open(tmp_path / "idx", candidates=20) as index:
        index.add_embeddings(records)
        rng = np.random.default_rng(11)
        for target in rng.choice(150, 5, replace=False):
            page = records[int(target)]["embedding"]
            query = _unit(page[rng.choice(len(page), 400)] + 0.02 * rng.standard_normal((400, 128)))
            fast = index.search_embedding(query, k=5)
            exact = index.search_embedding(query, k=5, exact=True)
            assert (fast[0].path, fast[0].page) == (
                records[int(target)]["path"],
                records[int(target)]["page"],
            )
            assert fast[0].page_id == exact[0].page_id
            np.testing.assert_allclose(fast[0].score, exact[0].score, rtol=1e-6)
