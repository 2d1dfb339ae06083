"""The Milvus store on a real Milvus Lite folder: schema, round trips, deletes, the one-writer lock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from pagelens.store import bfloat16, codec
from pagelens.store.location import IndexLocation
from pagelens.store.milvus import MilvusStore
from pagelens.store.records import DocumentRecord, IndexInfo, PageRecord, StoredPage, page_id_for


def test_codec_round_trips_bfloat16_in_chunks() -> None:
    vectors = np.random.default_rng(0).standard_normal((1030, 128)).astype(np.float32)
    chunks = codec.encode(vectors)
    assert len(chunks) == codec.chunk_count(1030, 128) > 1
    assert all(len(c) <= codec.CHUNK_CHARS for c in chunks)
    np.testing.assert_array_equal(codec.decode(chunks, 128), bfloat16.decode(bfloat16.encode(vectors)))


def test_bfloat16_rounds_to_nearest_and_round_trips() -> None:
    values = np.array([1.0, -2.5, 1.0 + 2**-8, 1.0 + 3 * 2**-9, 3.0e-6, 0.0], dtype=np.float32)
    decoded = bfloat16.decode(bfloat16.encode(values))
    # 1 + 2^-8 is halfway between two bfloat16 values: ties go to the even one (1.0); 1 + 3*2^-9 rounds up
    np.testing.assert_array_equal(decoded[[0, 1, 2, 5]], [1.0, -2.5, 1.0, 0.0])
    assert decoded[3] == np.float32(1.0 + 2**-7)
    assert abs(decoded[4] - 3.0e-6) / 3.0e-6 < 2**-8
    np.testing.assert_array_equal(bfloat16.encode(decoded), bfloat16.encode(values))  # stable


def test_locations() -> None:
    lite = IndexLocation.parse("some/folder")
    assert not lite.is_server and lite.milvus_uri.endswith("folder/milvus.db")
    server = IndexLocation.parse("tcp://127.0.0.1:19530", token="root:Milvus")
    assert (
        server.is_server and server.milvus_uri == "http://127.0.0.1:19530" and server.token == "root:Milvus"
    )
    assert IndexLocation.parse("https://x.example:443").milvus_uri == "https://x.example:443"


def _page(content_hash: str, number: int, n: int, seed: int) -> StoredPage:
    vectors = np.random.default_rng(seed).standard_normal((n, 128)).astype(np.float32)
    record = PageRecord(page_id_for(content_hash, number), content_hash, number, n, metadata={"topic": "x"})
    return StoredPage(record, vectors)


def test_store_round_trip_and_delete(tmp_path: Path) -> None:
    store = MilvusStore(IndexLocation.parse(tmp_path / "idx"))
    try:
        assert store.read_info() is None
        store.create(128)
        info = IndexInfo(model="m", dim=128)
        store.write_info(info)
        pages = [_page("h1", 1, 1030, 1), _page("h1", 2, 5, 2), _page("h2", 1, 2000, 3)]
        store.write_pages(pages)
        store.write_document(DocumentRecord("/a.pdf", "h1", "indexed", pages=2))
        store.write_document(DocumentRecord("/b.pdf", "h2", "failed", reason="broken"))
        assert store.read_info() == info and len(info.index_id) == 32
        assert [d.path for d in store.list_documents('status == "indexed"')] == ["/a.pdf"]
        assert store.get_documents(["/b.pdf"])[0].reason == "broken"
        records = store.pages_of(["h1", "h2"])
        assert sorted((r.content_hash, r.page, r.n_vectors) for r in records) == [
            ("h1", 1, 1030),
            ("h1", 2, 5),
            ("h2", 1, 2000),
        ]
        fetched = store.fetch_vectors(records, 128)
        for page in pages:
            stored = bfloat16.decode(bfloat16.encode(page.vectors))
            np.testing.assert_array_equal(fetched[page.record.page_id], stored)
        if not store.location.is_server:  # Milvus Lite: vectors in the index folder, none in Milvus
            assert store.count(store.vectors, "page_id >= 0") == 0
            assert all(r.vectors_ref.startswith("bf16 ") for r in records)
        store.delete_content(["h1"])
        assert [r.content_hash for r in store.pages_of(["h1", "h2"])] == ["h2"]
        assert store.count(store.vectors, f"page_id == {pages[0].record.page_id}") == 0
    finally:
        store.close()
    reopened = MilvusStore(IndexLocation.parse(tmp_path / "idx"))
    try:
        reopened.load()
        assert reopened.read_info() == info
        assert len(reopened.pages_of(["h2"])) == 1
    finally:
        reopened.close()


def test_second_process_gets_a_clear_busy_error(tmp_path: Path) -> None:
    store = MilvusStore(IndexLocation.parse(tmp_path / "idx"))
    try:
        store.create(128)
        code = (
            "import sys\n"
            "from pagelens.store.location import IndexLocation\n"
            "from pagelens.store.milvus import MilvusStore\n"
            "from pagelens.errors import IndexBusyError\n"
            "try:\n"
            f"    MilvusStore(IndexLocation.parse({str(tmp_path / 'idx')!r}))\n"
            "except IndexBusyError as e:\n"
            "    print(e); sys.exit(7)\n"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert result.returncode == 7, result.stderr
        assert "in use by pid" in result.stdout
    finally:
        store.close()
    # released on close: this process can open it again
    MilvusStore(IndexLocation.parse(tmp_path / "idx")).close()


def test_a_lite_folder_half_created_by_a_crash_is_made_again(tmp_path: Path) -> None:
    # what a kill during the first collection's creation leaves: its folder, but no collection
    (tmp_path / "idx" / "milvus.db" / "collections" / "pagelens_documents").mkdir(parents=True)
    store = MilvusStore(IndexLocation.parse(tmp_path / "idx"))
    try:
        store.create(128)
        store.write_info(IndexInfo(model="m", dim=128))
        store.write_pages([_page("h1", 1, 10, 1)])
        store.write_document(DocumentRecord("/a.pdf", "h1", "indexed", pages=1))
        assert [d.path for d in store.list_documents()] == ["/a.pdf"]
    finally:
        store.close()
