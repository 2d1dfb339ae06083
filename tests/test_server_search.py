"""Search on a real Milvus server (2.3.5): Milvus finds the candidates in its HNSW index of page centroids,
pagelens reranks them exactly; the client keeps no copy of the corpus. Run by `bash scripts/milvus_server.sh
test` (CI does), skipped elsewhere."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

import pagelens
from clustered import clustered_pages
from milvus_server import TOKEN, MilvusServer
from pagelens.search.server_retriever import ServerRetriever

pytestmark = pytest.mark.milvus_server

PAGES = 1000  # 300 vectors a page: ~100 MB of chunk text, above the server's 64 MiB message limit


@pytest.fixture(scope="module")
def big_index(milvus_server: MilvusServer, tmp_path_factory: pytest.TempPathFactory):  # noqa: F811
    pages, queries = clustered_pages(PAGES, seed=21, sizes=(300, 301))
    records = [
        {"path": f"doc{i // 10:03d}.pdf", "page": i % 10 + 1, "embedding": p, "metadata": {"n": i}}
        for i, p in enumerate(pages)
    ]
    prefix = f"search_{int(time.time() * 1000)}"
    index = pagelens.open(milvus_server.uri, token=TOKEN, collection=prefix)
    index.add_embeddings(records)
    yield milvus_server.uri, prefix, pages, queries
    index.store.drop()
    index.close()


def test_milvus_finds_candidates_and_the_ranking_stays_exact(big_index, tmp_path: Path, monkeypatch) -> None:
    uri, prefix, pages, queries = big_index
    monkeypatch.setenv("PAGELENS_CACHE", str(tmp_path / "cache"))
    with pagelens.open(uri, token=TOKEN, collection=prefix) as index:
        assert isinstance(index.retriever, ServerRetriever)
        recalls, scored = [], []
        for query in queries:
            exact = index.search_embedding(query, k=10, exact=True)
            approximate = index.search_embedding(query, k=10)
            scored.append(index.retriever.trace.exact)
            truth = {h.page_id: h.score for h in exact}
            recalls.append(len(set(truth) & {h.page_id for h in approximate}) / 10)
            for hit in approximate:
                if hit.page_id in truth:
                    assert hit.score == pytest.approx(truth[hit.page_id], abs=1e-5)
        print("recall@10", recalls, "scored exactly", scored)
        assert np.mean(recalls) >= 0.9, recalls
        assert np.mean(scored) < PAGES / 3, scored  # Milvus' candidates pruned most pages
        assert index.retriever.lru.bytes <= index.retriever.lru.max_bytes
    assert not (tmp_path / "cache").exists()  # no local copy of the corpus


def test_filters_similar_and_removal_on_the_server_path(big_index) -> None:
    uri, prefix, pages, queries = big_index
    with pagelens.open(uri, token=TOKEN, collection=prefix) as index:
        three = index.search_embedding(queries[0], k=10, filter={"metadata": {"n": {"in": [5, 500, 995]}}})
        assert sorted(h.metadata["n"] for h in three) == [5, 500, 995]
        one_doc = index.search_embedding(queries[1], k=50, filter={"path": "doc042.pdf"})
        assert {h.path for h in one_doc} == {"doc042.pdf"} and len(one_doc) == 10
        like = index.similar(index.find_page("doc007.pdf", 3), k=3)
        assert like and all((h.path, h.page) != ("doc007.pdf", 3) for h in like)
