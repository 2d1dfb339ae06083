"""Text search on a real Milvus 2.3.5 server (no BM25 function, no indexable sparse field): the pages keep
their text in a plain VARCHAR and pagelens ranks it with bm25s in process; the same queries rank the same
pages first as on Milvus Lite (Milvus' own BM25), and filters apply. Run with
`bash scripts/milvus_server.sh test tests/test_text_server.py`."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

import pagelens
from conftest import PAPER, REPORT
from fakes import FakeEmbedder
from milvus_server import MilvusServer
from pagelens.store.text_index import LOCAL_ENGINE, MILVUS_ENGINE

pytestmark = pytest.mark.milvus_server

QUERIES = ["revenue by region", "attention heads", "quarterly revenue chart", "translation sanity check"]


def test_text_and_hybrid_on_a_server_without_bm25(
    milvus_server: MilvusServer, docs_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAGELENS_CACHE", str(tmp_path / "cache"))
    lite = pagelens.open(tmp_path / "lite", embedder=FakeEmbedder())
    server = pagelens.open(
        milvus_server.uri,
        token=milvus_server.token,
        collection=f"text_{uuid.uuid4().hex[:10]}",
        embedder=FakeEmbedder(),
    )
    try:
        for index in (lite, server):
            assert index.add([docs_copy], progress=False).ok
        assert lite.status().text_search == MILVUS_ENGINE
        status = server.status()
        assert status.text_search == LOCAL_ENGINE
        assert status.pages_with_text == lite.status().pages_with_text > 0
        for query in QUERIES:
            on_lite = lite.search(query, k=3, mode="text")
            on_server = server.search(query, k=3, mode="text")
            assert (on_server[0].path, on_server[0].page) == (on_lite[0].path, on_lite[0].page)
            assert on_server[0].snippet == on_lite[0].snippet
        hybrid = server.search("revenue by region", k=4)  # the default on an index with text
        assert all(h.mode == "hybrid" and h.visual_score is not None for h in hybrid)
        only = server.search("revenue attention", k=10, mode="text", filter={"path": f"*{PAPER}"})
        assert only and all(h.path.endswith(PAPER) for h in only)
        pages = server.search("revenue", k=10, mode="hybrid", filter={"path": f"*{REPORT}", "pages": (3, 4)})
        assert pages and {h.page for h in pages} <= {3, 4}
    finally:
        lite.close()
        server.close()
