"""The token index that names candidate pages (search/token_index.py) on a real Milvus Lite index: pages added
later are found, a retrained codebook replaces every code, parts merge to the same results, filters hold."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import pagelens
from clustered import clustered_pages
from pagelens.search import token_index


def _records(pages: list[np.ndarray], first: int = 0) -> list[dict]:
    return [
        {"path": f"doc{(first + i) // 4}.pdf", "page": (first + i) % 4 + 1, "embedding": p}
        for i, p in enumerate(pages)
    ]


def _top(index: pagelens.Index, query: np.ndarray, **options: object) -> list[tuple[str, int, float]]:
    return [(h.path, h.page, h.score) for h in index.search_embedding(query, k=10, **options)]


def _recall(index: pagelens.Index, queries: list[np.ndarray]) -> float:
    found = [
        len(
            {h.page_id for h in index.search_embedding(q, k=10)}
            & {h.page_id for h in index.search_embedding(q, k=10, exact=True)}
        )
        / 10
        for q in queries
    ]
    return float(np.mean(found))


def test_pages_added_later_are_candidates_without_a_rebuild(tmp_path: Path) -> None:
    pages, queries = clustered_pages(420, seed=21)
    with pagelens.open(tmp_path / "idx", candidates=16) as index:
        index.add_embeddings(_records(pages[:300]))
        index.search_embedding(queries[0], k=3)
        tokens = index.retriever._tokens
        assert tokens is not None and index.retriever.cache.codebook is not None
        index.add_embeddings(_records(pages[300:], first=300))
        for probe in (305, 350, 419):  # a later page's own vectors, noised: it must come first
            query = pages[probe][:: len(pages[probe]) // 12][:12]
            noisy = query + 0.05 * np.random.default_rng(probe).standard_normal(query.shape).astype(
                np.float32
            )
            hits = index.search_embedding(noisy, k=1)
            assert (hits[0].path, hits[0].page) == (f"doc{probe // 4}.pdf", probe % 4 + 1)
            trace = index.retriever.trace
            assert 0 < trace.exact < trace.pool == 420  # found through the token index, not by scoring all
        assert index.retriever._tokens is tokens and len(tokens.parts) >= 2  # the new pages became a new part
        assert _recall(index, queries) >= 0.9


def test_parts_of_any_size_give_the_same_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pages, queries = clustered_pages(400, seed=22)
    folder = tmp_path / "idx"
    with pagelens.open(folder) as index:
        index.add_embeddings(_records(pages))
        whole = [_top(index, q) for q in queries]
        assert len(index.retriever._tokens.parts) == 1
    monkeypatch.setattr(token_index, "PART_VECTORS", 20_000)  # ~80,000 codes: several parts
    with pagelens.open(folder) as index:
        assert [_top(index, q) for q in queries] == whole
        assert len(index.retriever._tokens.parts) >= 3
    shutil.rmtree(folder / "cache")  # a new codebook, its codes in chunks of at most 20,000 (whole pages)
    with pagelens.open(folder) as index:
        assert _recall(index, queries) >= 0.9
        assert len(index.retriever._tokens.parts) >= 3
    assert len(list((folder / "cache").glob("*/tokens-*-*.faiss"))) >= 3


def test_a_grown_index_gets_a_new_codebook_and_every_code_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(token_index, "RETRAIN_GROWTH", 2)
    pages, queries = clustered_pages(600, seed=23)
    folder = tmp_path / "idx"
    with pagelens.open(folder) as index:
        index.add_embeddings(_records(pages[:260]))
        index.search_embedding(queries[0], k=3)
        first = index.retriever.cache.codebook
        assert first is not None
        index.add_embeddings(_records(pages[260:], first=260))
        exact = [_top(index, q, exact=True) for q in queries]
        second = index.retriever.cache.codebook
        assert second is not None and second.id != first.id and second.trained_on > first.trained_on
        assert _recall(index, queries) >= 0.9
    codes = {p.name for p in (folder / "cache").glob("*/tokens-*")}
    assert codes == {f"tokens-{second.id}-0.faiss", f"tokens-{second.id}.json"}  # none of the old codebook
    with pagelens.open(folder) as index:  # reopened: the same codebook, the same exact results
        assert index.retriever.cache.codebook.id == second.id
        assert [_top(index, q, exact=True) for q in queries] == exact


def test_a_filter_of_three_pages_returns_exactly_those_on_the_approximate_path(tmp_path: Path) -> None:
    pages, queries = clustered_pages(400, seed=24)
    records = _records(pages)
    chosen = {7, 200, 399}
    for i in chosen:
        records[i]["metadata"] = {"needle": "yes"}
    with pagelens.open(tmp_path / "idx") as index:
        index.add_embeddings(records)
        for query in queries[:3]:
            hits = index.search_embedding(query, k=10, filter={"metadata": {"needle": "yes"}})
            assert sorted((h.path, h.page) for h in hits) == sorted(
                (f"doc{i // 4}.pdf", i % 4 + 1) for i in chosen
            )


def test_a_crash_while_a_codebook_is_saved_never_pairs_codes_with_another_codebook(tmp_path: Path) -> None:
    pages, queries = clustered_pages(300, seed=25)
    folder = tmp_path / "idx"
    with pagelens.open(folder) as index:
        index.add_embeddings(_records(pages))
        exact = [_top(index, q, exact=True) for q in queries]
        first = index.retriever.cache.codebook.id
    cache = folder / "cache"
    # killed after the new codebook's index was written, before the file naming it: the old one stays current
    shutil.copy(cache / f"codebook-{first}.faiss", cache / "codebook-0123456789ab.faiss")
    with pagelens.open(folder) as index:
        assert [_top(index, q) for q in queries[:3]] == exact[:3]
        assert index.retriever.cache.codebook.id == first
    # killed after the file naming it, before the manifest: neither is trusted, a new one is trained
    (cache / "codebook.json").write_text(json.dumps({"id": "0123456789ab", "trained_on": 1}))
    with pagelens.open(folder) as index:
        assert [_top(index, q, exact=True) for q in queries] == exact
        codebook = index.retriever.cache.codebook
        assert codebook is not None and codebook.id not in (first, "0123456789ab")
        assert _recall(index, queries) >= 0.9
    assert {p.name for p in cache.glob("codebook-*.faiss")} == {f"codebook-{codebook.id}.faiss"}
    assert {p.name for p in cache.glob("*/tokens-*")} == {
        f"tokens-{codebook.id}-0.faiss",
        f"tokens-{codebook.id}.json",
    }
