"""pagelens against a real Milvus server (2.3.5 standalone) and against Milvus Lite, side by side: the same
operations must give the same results on both. Plus what only a server has: credentials, and several
indexes (collection prefixes) on one server.

These tests need the server's venv and a private network namespace: run them with
`bash scripts/milvus_server.sh test`. Elsewhere they are skipped (and the default run deselects them)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pagelens
from conftest import PAPER, REPORT
from milvus_server import TOKEN, MilvusServer
from pagelens.errors import AuthenticationError, IndexMismatchError, StoreError
from pagelens.store import codec
from pagelens.store.bfloat16 import as_stored
from pagelens.store.location import IndexLocation
from pagelens.store.milvus import MilvusStore
from pagelens.store.records import DocumentRecord, IndexInfo, PageRecord, StoredPage, page_id_for

pytestmark = pytest.mark.milvus_server

SCORE_TOLERANCE = 1e-5
QUERIES = ["Where is the table comparing BLEU scores?", "revenue by quarter chart", "attention heads"]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server index keeps its rerank cache under $PAGELENS_CACHE (default ~/.cache/pagelens)."""
    monkeypatch.setenv("PAGELENS_CACHE", str(tmp_path / "cache"))


def _prefix(name: str = "t") -> str:
    """A collection prefix no other test on the session's server uses."""
    return f"{name}_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def locations(tmp_path: Path, milvus_server: MilvusServer) -> dict[str, Callable[..., IndexLocation]]:
    """backend name -> a maker of fresh index locations (a Lite folder, or a new prefix on the server)."""
    return {
        "lite": lambda name="idx": IndexLocation.parse(tmp_path / f"lite-{name}"),
        "server": lambda name="idx": IndexLocation.parse(
            milvus_server.uri, token=milvus_server.token, collection=_prefix(name)
        ),
    }


@pytest.fixture
def open_index(locations: dict[str, Callable[..., IndexLocation]]) -> Iterator[Callable[..., pagelens.Index]]:
    """open_index(backend, **kwargs): a new index on that backend; server collections are dropped after."""
    opened: list[pagelens.Index] = []

    def make(backend: str, **kwargs: Any) -> pagelens.Index:
        location = locations[backend]()
        index = pagelens.open(
            location.uri if location.is_server else location.local_dir,
            token=location.token,
            collection=location.collection,
            **kwargs,
        )
        opened.append(index)
        return index

    yield make
    for index in opened:
        try:
            if index.location.is_server:
                index.store.drop()
        finally:
            index.close()


# ---- the store ------------------------------------------------------------------------------------------------
def _page(content_hash: str, number: int, n: int, seed: int) -> StoredPage:
    vectors = np.random.default_rng(seed).standard_normal((n, 128)).astype(np.float32)
    record = PageRecord(page_id_for(content_hash, number), content_hash, number, n, metadata={"topic": "x"})
    return StoredPage(record, vectors)


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


INDEX_ID = "a-fixed-index-id"  # both backends' rows compare equal


def _store_round_trip(location: IndexLocation) -> dict[str, Any]:
    """tests/test_store.py's round trip; returns what it saw, for comparing backends."""
    seen: dict[str, Any] = {}
    store = MilvusStore(location)
    try:
        assert store.read_info() is None
        store.create(128)
        store.write_info(IndexInfo(model="m", dim=128, index_id=INDEX_ID))
        pages = [_page("h1", 1, 1030, 1), _page("h1", 2, 5, 2), _page("h2", 1, 2000, 3)]
        store.write_pages(pages)
        store.write_document(DocumentRecord("/a.pdf", "h1", "indexed", pages=2, metadata={"k": [1, 2]}))
        store.write_document(DocumentRecord("/b.pdf", "h2", "failed", reason="broken"))
        seen["info"] = store.read_info()
        seen["indexed"] = [d.path for d in store.list_documents('status == "indexed"')]
        seen["failed_reason"] = store.get_documents(["/b.pdf"])[0].reason
        seen["document_metadata"] = store.get_documents(["/a.pdf"])[0].metadata
        records = store.pages_of(["h1", "h2"])
        seen["pages"] = sorted((r.content_hash, r.page, r.n_vectors, r.page_id) for r in records)
        seen["page_metadata"] = sorted(str(r.metadata) for r in records)
        seen["metadata_filter"] = sorted(r.page_id for r in store.list_pages('metadata["topic"] == "x"'))
        fetched = store.fetch_vectors(records, 128)
        for page in pages:
            np.testing.assert_array_equal(fetched[page.record.page_id], as_stored(page.vectors))
        seen["vectors"] = {page_id: _digest(v) for page_id, v in sorted(fetched.items())}
        # vectors as chunk rows in a server; in the index folder's files on Milvus Lite (none in Lite's RAM)
        chunks = sum(codec.chunk_count(p.record.n_vectors, 128) for p in pages)
        assert store.count(store.vectors) == (chunks if location.is_server else 0)
        store.delete_content(["h1"])
        seen["after_delete"] = [r.content_hash for r in store.pages_of(["h1", "h2"])]
        seen["h1_vectors_left"] = store.count(store.vectors, f"page_id == {pages[0].record.page_id}")
        store.flush()
    finally:
        store.close()
    reopened = MilvusStore(location)
    try:
        reopened.load()
        seen["reopened_info"] = reopened.read_info()
        seen["reopened_pages"] = len(reopened.pages_of(["h2"]))
    finally:
        if location.is_server:
            reopened.drop()
        reopened.close()
    return seen


def test_store_round_trip_is_the_same_on_lite_and_server(
    locations: dict[str, Callable[..., IndexLocation]],
) -> None:
    seen = {backend: _store_round_trip(make()) for backend, make in locations.items()}
    assert seen["lite"] == seen["server"]
    lite = seen["lite"]
    assert lite["info"] == lite["reopened_info"] == IndexInfo(model="m", dim=128, index_id=INDEX_ID)
    assert lite["indexed"] == ["/a.pdf"] and lite["failed_reason"] == "broken"
    assert lite["document_metadata"] == {"k": [1, 2]}
    assert [(h, p, n) for h, p, n, _ in lite["pages"]] == [("h1", 1, 1030), ("h1", 2, 5), ("h2", 1, 2000)]
    assert len(lite["metadata_filter"]) == 3 and len(lite["vectors"]) == 3
    assert lite["after_delete"] == ["h2"] and lite["h1_vectors_left"] == 0 and lite["reopened_pages"] == 1


# ---- end to end -------------------------------------------------------------------------------------------
# Visual search is compared: the text channel's BM25 is Milvus' own on Lite and bm25s on a 2.3 server (no BM25
# function there), so text and hybrid scores differ by design (store/text_index.py).
def _hits(hits: list[pagelens.Hit]) -> list[tuple[str, int, int, float]]:
    return [(Path(h.path).name, h.page, h.page_id, h.score) for h in hits]


def _assert_same_hits(
    lite: list[tuple[str, int, int, float]], server: list[tuple[str, int, int, float]]
) -> None:
    assert [h[:3] for h in lite] == [h[:3] for h in server]
    for a, b in zip(lite, server, strict=True):
        assert a[3] == pytest.approx(b[3], abs=SCORE_TOLERANCE)


def _status(index: pagelens.Index) -> tuple[Any, ...]:
    status = index.status()
    return (
        status.documents,
        status.pages,
        status.vectors,
        [(Path(f.path).name, f.reason) for f in status.failed],
    )


def test_tiny_model_index_and_search_are_the_same_on_lite_and_server(
    open_index: Callable[..., pagelens.Index], tiny_models: Callable[[str], Path], samples: Path
) -> None:
    folder = str(tiny_models("colqwen2"))
    pdf = samples / REPORT
    seen: dict[str, dict[str, Any]] = {}
    embedder = None
    for backend in ("lite", "server"):
        index = open_index(backend, model=folder, device="cpu", embedder=embedder)
        embedder = index.embedder  # the same model object for both: identical embeddings
        report = index.add([pdf], progress=False)
        result: dict[str, Any] = {
            "report": (report.ok, report.pages_added, report.documents_added),
            "status": _status(index),
            "search": [_hits(index.search(q, k=6, mode="visual")) for q in QUERIES],
            "exact": [_hits(index.search(q, k=3, exact=True, mode="visual")) for q in QUERIES],
            "again": index.add([pdf], progress=False).documents_unchanged,
        }
        first = index.search("chart", k=6, mode="visual")
        result["similar"] = _hits(index.similar(first[0], k=3))
        result["removed"] = index.remove([pdf])
        result["status_after_remove"] = _status(index)
        result["search_after_remove"] = index.search("chart", k=3, mode="visual")
        seen[backend] = result
    lite, server = seen["lite"], seen["server"]
    assert lite["report"] == server["report"] == (True, 6, 1)
    assert lite["status"] == server["status"] and lite["status"][:2] == (1, 6)
    for key in ("search", "exact"):
        for a, b in zip(lite[key], server[key], strict=True):
            _assert_same_hits(a, b)
    assert all(sorted(h[1] for h in hits) == [1, 2, 3, 4, 5, 6] for hits in lite["search"])
    _assert_same_hits(lite["similar"], server["similar"])
    assert lite["again"] == server["again"] == 1
    assert lite["removed"] == server["removed"] == 1
    assert lite["status_after_remove"] == server["status_after_remove"] == (0, 0, 0, [])
    assert lite["search_after_remove"] == server["search_after_remove"] == []


def test_fake_embedder_ingest_filters_and_failures_are_the_same_on_lite_and_server(
    open_index: Callable[..., pagelens.Index], docs_copy: Path
) -> None:
    from fakes import FakeEmbedder

    (docs_copy / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a pdf")
    seen: dict[str, dict[str, Any]] = {}
    for backend in ("lite", "server"):
        index = open_index(backend, embedder=FakeEmbedder())
        report = index.add([docs_copy], progress=False, metadata={"batch": "one"})
        result: dict[str, Any] = {
            "report": (
                report.pages_added,
                report.documents_added,
                [Path(f.path).name for f in report.failed],
            ),
            "status": _status(index),
            "search": [_hits(index.search(q, k=5, mode="visual")) for q in QUERIES],
            "filtered": _hits(
                index.search("table", k=5, filter={"path": "*retrieval*", "pages": (2, 4)}, mode="visual")
            ),
            "by_metadata": _hits(
                index.search("table", k=3, filter={"metadata": {"batch": "one"}}, mode="visual")
            ),
        }
        index.remove([docs_copy / PAPER])
        result["status_after_remove"] = _status(index)
        result["search_after_remove"] = [_hits(index.search(q, k=5, mode="visual")) for q in QUERIES]
        seen[backend] = result
    lite, server = seen["lite"], seen["server"]
    assert lite["report"] == server["report"] == (14, 2, ["broken.pdf"])
    assert lite["status"] == server["status"]
    assert lite["status"][:2] == (2, 14) and lite["status"][3][0][0] == "broken.pdf"
    for key in ("search", "search_after_remove"):
        for a, b in zip(lite[key], server[key], strict=True):
            _assert_same_hits(a, b)
    _assert_same_hits(lite["filtered"], server["filtered"])
    assert {(h[0], h[1]) for h in lite["filtered"]} == {(PAPER, p) for p in (2, 3, 4)}
    _assert_same_hits(lite["by_metadata"], server["by_metadata"])
    assert len(lite["by_metadata"]) == 3
    assert lite["status_after_remove"] == server["status_after_remove"]
    assert lite["status_after_remove"][:2] == (1, 6)


# ---- what only a server has ---------------------------------------------------------------------------------
def test_the_right_token_works_and_a_wrong_one_is_an_authentication_error(
    milvus_server: MilvusServer,
) -> None:
    from fakes import FakeEmbedder

    prefix = _prefix("auth")
    with pagelens.open(milvus_server.uri, token=TOKEN, collection=prefix, embedder=FakeEmbedder()) as index:
        assert index.status().pages == 0
        index.store.drop()
    for token in ("root:wrong", "nobody:Milvus", None):
        with pytest.raises(StoreError) as caught:
            pagelens.open(milvus_server.uri, token=token, collection=prefix)
        assert isinstance(caught.value, AuthenticationError), repr(caught.value)
        assert "credentials" in str(caught.value) and milvus_server.uri in str(caught.value)


def test_the_cli_talks_to_the_server_with_a_token(milvus_server: MilvusServer, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "pagelens.cli", "status", "--index", milvus_server.uri, "--json"]
    env = {**os.environ, "PAGELENS_CACHE": str(tmp_path / "cache")}
    env.pop("PAGELENS_TOKEN", None)
    prefix = ["--collection", _prefix("cli")]
    page = np.random.default_rng(1).standard_normal((7, 128)).astype(np.float32)
    with pagelens.open(milvus_server.uri, token=TOKEN, collection=prefix[1]) as index:
        index.add_embeddings([{"path": "one.pdf", "page": 1, "embedding": page}])
    good = subprocess.run(
        [*command, *prefix, "--token", TOKEN], capture_output=True, text=True, env=env, timeout=120
    )
    assert good.returncode == 0, good.stderr
    assert '"pages": 1' in good.stdout
    bad = subprocess.run(
        [*command, *prefix, "--token", "root:nope"], capture_output=True, text=True, env=env, timeout=120
    )
    assert bad.returncode == 1
    assert "credentials" in bad.stderr and "Traceback" not in bad.stderr


def test_indexes_with_different_collection_prefixes_do_not_see_each_other(
    milvus_server: MilvusServer,
) -> None:
    from pymilvus import MilvusClient

    rng = np.random.default_rng(5)
    alpha, beta = _prefix("alpha"), _prefix("beta")
    indexes = {name: pagelens.open(milvus_server.uri, token=TOKEN, collection=name) for name in (alpha, beta)}
    try:
        for name, index in indexes.items():
            index.add_embeddings(
                {
                    "path": f"{name}.pdf",
                    "page": page,
                    "embedding": rng.standard_normal((20, 32)),
                    "metadata": {},
                }
                for page in (1, 2, 3)
            )
        query = rng.standard_normal((4, 32))
        for name, index in indexes.items():
            assert [d.path for d in index.documents()] == [f"{name}.pdf"]
            assert {h.path for h in index.search_embedding(query, k=10)} == {f"{name}.pdf"}
            assert (index.status().documents, index.status().pages) == (1, 3)
        client = MilvusClient(uri=milvus_server.uri, token=TOKEN)
        try:
            names = set(client.list_collections())
        finally:
            client.close()
        for name in (alpha, beta):
            assert {f"{name}_{part}" for part in ("meta", "documents", "pages", "vectors")} <= names
        indexes[alpha].remove([f"{alpha}.pdf"])
        assert indexes[alpha].status().pages == 0
        assert (indexes[beta].status().documents, indexes[beta].status().pages) == (1, 3)
    finally:
        for index in indexes.values():
            index.store.drop()
            index.close()


def test_a_new_client_searches_an_index_larger_than_one_server_message(
    milvus_server: MilvusServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 ColPali-size pages are ~105 MB of chunk text, above the server's 64 MiB message limit: a client
    with an empty cache fetches them in byte-bounded calls, and a second client sees the first one's commits."""
    rng = np.random.default_rng(3)
    prefix = _prefix("big")
    pages = [rng.standard_normal((1030, 128)).astype(np.float32) for _ in range(300)]
    records = [{"path": f"doc{i // 10}.pdf", "page": i % 10 + 1, "embedding": p} for i, p in enumerate(pages)]
    writer = pagelens.open(milvus_server.uri, token=TOKEN, collection=prefix)
    try:
        writer.add_embeddings(records)
        query = pages[123][:20] + 0.1 * rng.standard_normal((20, 128)).astype(np.float32)
        monkeypatch.setenv("PAGELENS_CACHE", str(tmp_path / "fresh-cache"))
        with pagelens.open(milvus_server.uri, token=TOKEN, collection=prefix) as reader:
            hits = reader.search_embedding(query, k=3)
            assert (hits[0].path, hits[0].page) == ("doc12.pdf", 4)
            assert reader.status().pages == 300
            writer.remove("doc12.pdf")  # another process' commit: seen within seconds, without reopening
            removed_at = time.monotonic()
            while any(h.path == "doc12.pdf" for h in reader.search_embedding(query, k=10)):
                assert time.monotonic() - removed_at < 15, "the reader never saw the removal"
                time.sleep(0.5)
            print(f"removal seen by another client after {time.monotonic() - removed_at:.1f} s")
    finally:
        writer.store.drop()
        writer.close()


# ---- several processes creating one new index at once (sharded indexing started together) -----------------
CREATORS = 4
CREATE_DOCUMENTS = 8  # two a process
PAGES_PER_DOCUMENT = 3
SRC = Path(__file__).resolve().parents[1] / "src"

# Each child waits for the same wall-clock moment, then opens the index (creating its collections) and adds
# its documents: pages are seeded by document number, so any process writes the same bytes for a document.
CREATOR = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    import pagelens

    uri, token, collection, start_at, first, stop, pages = sys.argv[1:8]
    def records(first, stop):
        for d in range(int(first), int(stop)):
            rng = np.random.default_rng(d)
            for page in range(1, int(pages) + 1):
                yield {"path": f"doc{d}.pdf", "page": page, "embedding": rng.standard_normal((12, 32))}
    time.sleep(max(0.0, float(start_at) - time.time()))
    with pagelens.open(uri, token=token, collection=collection) as index:
        index.add_embeddings(list(records(first, stop)))
        print(json.dumps({"pages": index.status().pages, "index_id": index.info.index_id}))
    """
)


def _child_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAGELENS_")}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PAGELENS_CACHE"] = str(tmp_path / "cache")
    return env


def _server_catalog(uri: str, collection: str) -> tuple[set[tuple[str, str, int]], set[int]]:
    with pagelens.open(uri, token=TOKEN, collection=collection, create=False) as index:
        documents = {(d.path, d.content_hash, d.pages) for d in index.documents() if d.status == "indexed"}
        return documents, {p.page_id for p in index.catalog.pages}


def _drop_server_index(uri: str, collection: str) -> None:
    with pagelens.open(uri, token=TOKEN, collection=collection, create=False) as index:
        index.store.drop()


def _run_creators(uri: str, collection: str, shards: list[tuple[int, int]], tmp_path: Path) -> list[str]:
    start_at = time.time() + 3.0  # every child has imported pagelens and connected by then
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                CREATOR,
                uri,
                TOKEN,
                collection,
                str(start_at),
                str(a),
                str(b),
                str(PAGES_PER_DOCUMENT),
            ],
            env=_child_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for a, b in shards
    ]
    outputs = [child.communicate(timeout=300) for child in children]
    for child, (_, stderr) in zip(children, outputs, strict=True):
        assert child.returncode == 0, stderr[-3000:]
    return [stdout for stdout, _ in outputs]


def test_four_processes_creating_one_new_server_index_at_once_all_succeed(
    milvus_server: MilvusServer, tmp_path: Path
) -> None:
    uri = milvus_server.uri
    single, sharded = f"single_{uuid.uuid4().hex[:10]}", f"sharded_{uuid.uuid4().hex[:10]}"
    step = CREATE_DOCUMENTS // CREATORS
    try:
        _run_creators(uri, single, [(0, CREATE_DOCUMENTS)], tmp_path)
        outputs = _run_creators(uri, sharded, [(i * step, (i + 1) * step) for i in range(CREATORS)], tmp_path)
        reports = [json.loads(out.splitlines()[-1]) for out in outputs]
        assert all(report["pages"] > 0 for report in reports)
        want, got = _server_catalog(uri, single), _server_catalog(uri, sharded)
        assert len(want[1]) == CREATE_DOCUMENTS * PAGES_PER_DOCUMENT
        assert got == want  # the same documents, content hashes, page counts and page ids
        with pagelens.open(uri, token=TOKEN, collection=sharded, create=False) as index:
            info = index.store.read_info()
            assert info is not None and info.dim == 32
        assert {report["index_id"] for report in reports} == {info.index_id}  # one identity, not four
    finally:
        for collection in (single, sharded):
            with contextlib.suppress(Exception):  # cleanup only
                _drop_server_index(uri, collection)


def test_creating_over_a_collection_of_another_dimension_is_a_mismatch(milvus_server: MilvusServer) -> None:
    """The idempotent create adopts collections another process made, but only with vectors of its own dim."""
    location = IndexLocation.parse(milvus_server.uri, token=TOKEN, collection=f"dims_{uuid.uuid4().hex[:10]}")
    first = MilvusStore(location)
    try:
        first.create(32)
        first.create(32)  # again, as a second process would: a no-op
        second = MilvusStore(location)
        try:
            with pytest.raises(IndexMismatchError, match="holds 32-d vectors; got 16-d"):
                second.create(16)
        finally:
            second.close()
    finally:
        first.drop()
        first.close()
