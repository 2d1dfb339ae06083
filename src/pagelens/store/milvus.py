"""The only code that talks to Milvus (pymilvus.MilvusClient): collections, schema, writes, reads.

Four collections, named `<prefix>_meta`, `_documents`, `_pages`, `_vectors`:
- meta: key -> JSON value: `info` (model, dim, schema version, index id), `generation` (changed by every
  commit, so another process can tell cheaply that it must refresh).
- documents: one row per path: its content hash and status ('indexed' or 'failed' with a reason). A
  document's pages are live only while an 'indexed' row points at their content hash: writing that row is
  the commit, so search never sees a half-written document.
- pages: one row per page of a content hash (page number, vector count, metadata, a mean vector, and on
  Milvus Lite `vectors_ref`, where its vectors are in the index folder's vector files).
- vectors (servers only): the page's multi-vector as bfloat16 chunks (see codec.py).
Vectors are written before the page row that refers to them, so a page row always has complete vectors. On
Milvus Lite they live in `<index>/vectors/` (vector_files.py) because Lite keeps every loaded row in RAM;
their folder carries the index id and is refused (or, for a new index, cleared) when it belongs to another.
Milvus needs a vector field in every collection; where there is nothing to search, a 2-d placeholder fills it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pagelens.errors import (
    AuthenticationError,
    IndexBusyError,
    IndexError_,
    IndexMismatchError,
    StoreError,
    UsageError,
)
from pagelens.store import codec
from pagelens.store.location import IndexLocation
from pagelens.store.records import DocumentRecord, IndexInfo, PageRecord, StoredPage
from pagelens.store.text_index import TEXT_FIELD, TextIndex, add_bm25, full_text_supported, text_field_options
from pagelens.store.vector_files import VectorFiles, VectorRef

log = logging.getLogger(__name__)

PLACEHOLDER = [1.0, 0.0]
QUERY_BATCH = 1000
ROW_BATCH = 8192  # document and page rows (small: no vectors) read per call when listing
SCAN_ABOVE_HASHES = 256
# Every reply must stay under a server's gRPC message limit (64 MiB by default), whatever a page holds:
# chunk rows are fetched at most this many bytes of chunk text per call.
FETCH_BYTES = 24 << 20
VECTORS_FOLDER = "vectors"
COMPACT_DEAD_SHARE = 0.5
# Servers: each page's k-means centroids are rows of a real vector field with an HNSW index, and Milvus finds
# each query token's nearest centroids (see search/server_retriever.py). M=16 / efConstruction=200 are
# Milvus' usual starting point; the search's ef is set per query from how many hits it asks for.
CENTROID_INDEX = "HNSW"
CENTROID_INDEX_PARAMS = {"M": 16, "efConstruction": 200}
CENTROIDS_PER_PAGE_MAX = 64  # centroid row ids are page_id * this + j
SEARCH_LIMIT_MAX = 16384  # Milvus' cap on a search's limit (topk)
CENTROID_INSERT_ROWS = 2048
CENTROID_CHUNK = -1  # the `chunk` of a page's packed centroid row in the vectors collection
CENTROID_SLOT = 63  # its chunk_id is page_id * codec.MAX_CHUNKS + this (pages use far fewer chunks)
COMPACT_BATCH = 256
PAGE_FIELDS = ["page_id", "content_hash", "page", "n_vectors", "width", "height", "metadata", "vectors_ref"]
ID_LIST_BATCH = 2000
INSERT_ROWS = 256
OWNER_FILE = "owner.txt"
# A Milvus server reads at "Bounded" staleness by default: a query right after a write may not see it, and
# pagelens reads what it just wrote (the document row that commits a document, then the catalog). Strong
# reads wait for every earlier write. Milvus Lite is always consistent and ignores the setting.
CONSISTENCY = "Strong"
# Searches read rows written before the commit their pages' liveness comes from (the catalog, read Strong):
# "Bounded" spares each call the wait for the server's next time tick (1-2.5 s a call at the default 200 ms
# tick on Milvus 2.3). A page committed within the bound may be missed for a moment; its vectors, if missed,
# are fetched again with Strong before the page is counted unreadable (search/server_retriever.py).
SEARCH_CONSISTENCY = "Bounded"
# Servers: how long a process that finds a collection another process is creating waits for it to be ready.
CREATE_WAIT_SECONDS = 60.0


class _QuietIterator(logging.Filter):
    """pymilvus' query_iterator asks Milvus Lite for an MVCC timestamp on every call; Lite's in-process gRPC
    server logs 'Method not implemented' with a traceback, and pymilvus warns that it falls back to a
    client-side timestamp, which is what we want. Drop just those two records."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "mvccTs" not in message and "Method not implemented" not in message


def _quiet_pymilvus() -> None:
    for name in ("pymilvus.client.iterator.query_iterator", "grpc._server"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _QuietIterator) for f in logger.filters):
            logger.addFilter(_QuietIterator())


def _in(field: str, values: Iterable[Any]) -> str:
    return f"{field} in {json.dumps(list(values))}"


class MilvusStore:
    """pagelens' collections in one Milvus (Lite folder or server)."""

    def __init__(self, location: IndexLocation) -> None:
        self.location = location
        prefix = location.collection
        self.meta = f"{prefix}_meta"
        self.documents = f"{prefix}_documents"
        self.pages = f"{prefix}_pages"
        self.vectors = f"{prefix}_vectors"
        self.centroids = f"{prefix}_centroids"
        self._client = self._connect()
        self._dim: int | None = None
        self._info: IndexInfo | None = None
        self._files: VectorFiles | None = None
        self._text_index: TextIndex | None = None

    # ---- connection -------------------------------------------------------------------------------------
    def _connect(self):
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException

        _quiet_pymilvus()
        kwargs: dict[str, Any] = {"uri": self.location.milvus_uri}
        if self.location.token:
            kwargs["token"] = self.location.token
        if not self.location.is_server:
            self.location.local_dir.mkdir(parents=True, exist_ok=True)
            _check_lite_lock(self.location)
        try:
            return MilvusClient(**kwargs, timeout=30)
        except MilvusException as exc:
            raise self._translate(exc) from exc
        except Exception as exc:
            if exc.__class__.__name__ == "DataDirLockedError":
                raise IndexBusyError(
                    f"index {self.location.describe()} is in use by another process; "
                    "stop it, or search through its HTTP API (see README: indexing while serving)"
                ) from exc
            raise StoreError(f"cannot open index {self.location.describe()}: {exc}") from exc

    def _translate(self, exc: Exception) -> IndexError_:
        code, details = _grpc_status(exc)
        if code in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
            return AuthenticationError(
                f"Milvus at {self.location.describe()} rejected the credentials ({details}); "
                "pass the right token (--token or $PAGELENS_TOKEN, as user:password)"
            )
        if code == "UNAVAILABLE":
            return StoreError(
                f"cannot reach Milvus at {self.location.describe()}: is it running? ({details})"
            )
        message = getattr(exc, "message", None) or str(exc)
        lowered = message.lower()
        if "auth" in lowered or "credential" in lowered or "permission" in lowered or "token" in lowered:
            return AuthenticationError(
                f"Milvus at {self.location.describe()} rejected the credentials: {message}"
            )
        if "locked" in lowered:
            return IndexBusyError(f"index {self.location.describe()} is in use by another process")
        return StoreError(f"Milvus at {self.location.describe()}: {message}")

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        from pymilvus.exceptions import MilvusException

        try:
            return getattr(self._client, method)(*args, **kwargs)
        except MilvusException as exc:
            raise self._translate(exc) from exc

    def close(self) -> None:
        if self._files is not None:
            self._files.close()
        try:
            self._client.close()
        finally:
            if not self.location.is_server:
                _release_lite(self.location.milvus_uri)

    # ---- schema -----------------------------------------------------------------------------------------
    def exists(self) -> bool:
        return bool(self._call("has_collection", self.meta))

    def _create(
        self,
        name: str,
        fields: list[tuple[str, Any, dict[str, Any]]],
        vector: str,
        dim: int,
        index_type: str = "FLAT",
        index_params: dict[str, Any] | None = None,
        extend: Any = None,
    ) -> None:
        from pymilvus import DataType

        if self._call("has_collection", name) and not self.location.is_server:
            self._call("load_collection", name)
            return
        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
        for field_name, dtype, options in fields:
            schema.add_field(field_name, dtype, **options)
        schema.add_field(vector, DataType.FLOAT_VECTOR, dim=dim)
        index = self._client.prepare_index_params()
        index.add_index(field_name=vector, index_type=index_type, metric_type="IP", params=index_params or {})
        if extend is not None:  # more fields and indexes (the pages' full-text field: text_index.add_bm25)
            extend(schema, index)
        if self.location.is_server:
            self._create_on_server(name, schema, index, vector, dim)
            return
        self._call(
            "create_collection", name, schema=schema, index_params=index, consistency_level=CONSISTENCY
        )
        self._call("load_collection", name)

    def _create_on_server(self, name: str, schema: Any, index: Any, vector: str, dim: int) -> None:
        """Create, index and load `name` on a server, idempotently: several processes (sharded indexing
        started together) may create one new index at the same moment. Milvus refuses a second
        create_collection ("duplicate collection"), and a collection another process has just created may not
        have its index yet (load_collection: "index not found"). So whoever finds it existing builds the same
        index itself (identical parameters: a no-op where it exists) and loads it, retrying for a bounded time."""
        if not self._call("has_collection", name):
            try:
                self._call(
                    "create_collection",
                    name,
                    schema=schema,
                    index_params=index,
                    consistency_level=CONSISTENCY,
                )
                return  # pymilvus created, indexed and loaded it
            except StoreError as exc:
                if not any(s in str(exc).lower() for s in ("duplicate collection", "already exist")):
                    raise
                log.info("%s: created by another process at the same moment", name)
        deadline = time.monotonic() + CREATE_WAIT_SECONDS
        delay = 0.1
        while True:
            try:
                self._check_dim(name, vector, dim)
                self._call("create_index", name, index)
                self._call("load_collection", name)
                return
            except StoreError as exc:
                if "not found" not in str(exc).lower() or time.monotonic() >= deadline:
                    raise
                log.debug("%s: not ready yet (%s); retrying", name, exc)
            time.sleep(delay)
            delay = min(2 * delay, 1.0)

    def _check_dim(self, name: str, vector: str, dim: int) -> None:
        """A collection another process created must hold vectors of our dimension."""
        described = self._call("describe_collection", name)
        for field in described.get("fields", []):
            if field.get("name") == vector:
                found = int(field.get("params", {}).get("dim", dim))
                if found != dim:
                    raise IndexMismatchError(
                        f"index {self.location.describe()}: {name} holds {found}-d vectors; got {dim}-d "
                        "(another process created it with another model?)"
                    )

    def create(self, dim: int) -> None:
        """Create the collections for `dim`-dimensional embeddings (idempotent)."""
        try:
            self._create_all(dim)
        except StoreError as exc:
            # Milvus Lite killed while it created a collection leaves the collection's folder without the
            # collection, and every later create fails with "File exists". Before the info row is written
            # nothing was committed, so the half-made folder can go.
            if self.location.is_server or "File exists" not in str(exc) or self.read_info() is not None:
                raise
            log.warning(
                "%s: removing a Milvus Lite folder left half-created by a crash", self.location.describe()
            )
            self._reset_lite()
            self._create_all(dim)

    def _reset_lite(self) -> None:
        import shutil

        self._client.close()
        _release_lite(self.location.milvus_uri)
        shutil.rmtree(self.location.milvus_uri, ignore_errors=True)
        self._client = self._connect()

    def _create_all(self, dim: int) -> None:
        from pymilvus import DataType

        varchar = DataType.VARCHAR
        self._create(
            self.meta,
            [
                ("key", varchar, {"is_primary": True, "max_length": 256}),
                ("value", varchar, {"max_length": 65535}),
            ],
            "placeholder",
            2,
        )
        self._create(
            self.documents,
            [
                ("path", varchar, {"is_primary": True, "max_length": 4096}),
                ("content_hash", varchar, {"max_length": 128}),
                ("status", varchar, {"max_length": 16}),
                ("pages", DataType.INT64, {}),
                ("reason", varchar, {"max_length": 2048}),
                ("size", DataType.INT64, {}),
                ("indexed_at", DataType.DOUBLE, {}),
                ("metadata", DataType.JSON, {}),
            ],
            "placeholder",
            2,
        )
        self._create(
            self.pages,
            [
                ("page_id", DataType.INT64, {"is_primary": True}),
                ("content_hash", varchar, {"max_length": 128}),
                ("page", DataType.INT64, {}),
                ("n_vectors", DataType.INT64, {}),
                ("width", DataType.INT64, {}),
                ("height", DataType.INT64, {}),
                ("metadata", DataType.JSON, {}),
                ("vectors_ref", varchar, {"max_length": 128}),
                (TEXT_FIELD, varchar, text_field_options(self.has_full_text())),
            ],
            "mean_vector",
            dim,
            extend=add_bm25 if self.has_full_text() else None,
        )
        self._create(
            self.vectors,
            [
                ("chunk_id", DataType.INT64, {"is_primary": True}),
                ("page_id", DataType.INT64, {}),
                ("chunk", DataType.INT64, {}),
                ("data", varchar, {"max_length": 65535}),
            ],
            "placeholder",
            2,
        )
        if self.location.is_server:  # Milvus searches these for candidates (search/server_retriever.py)
            self._create(
                self.centroids,
                [
                    ("centroid_id", DataType.INT64, {"is_primary": True}),
                    ("page_id", DataType.INT64, {}),
                ],
                "vector",
                dim,
                index_type=CENTROID_INDEX,
                index_params=CENTROID_INDEX_PARAMS,
            )
        self._dim = dim

    @property
    def text_index(self) -> TextIndex:
        """The pages' text and Milvus' full-text search over it (text_index.py)."""
        if self._text_index is None:
            self._text_index = TextIndex(self)
        return self._text_index

    def has_full_text(self) -> bool:
        """Whether this Milvus ranks text itself (a BM25 function; see text_index.py)."""
        return full_text_supported(str(self._call("get_server_version")))

    def load(self) -> None:
        """Load existing collections (Milvus releases them when a process ends)."""
        for name in (self.meta, self.documents, self.pages, self.vectors, self.centroids):
            if self._call("has_collection", name):
                try:
                    self._call("load_collection", name)
                except StoreError as exc:
                    # a server collection another process is creating right now, before its index: no info
                    # row exists yet, so this index is new to us too, and create() finishes the collection
                    if not self.location.is_server or "index not found" not in str(exc).lower():
                        raise
                    log.info("%s: being created by another process (no index yet)", name)

    def drop(self) -> None:
        for name in (self.meta, self.documents, self.pages, self.vectors, self.centroids):
            if self._call("has_collection", name):
                self._call("drop_collection", name)
        if self._files is not None:
            self._files.clear()
            self._files = None

    # ---- meta -------------------------------------------------------------------------------------------
    def read_info(self) -> IndexInfo | None:
        if not self.exists():
            return None
        try:
            rows = self._read_info_rows()
        except StoreError as exc:
            message = str(exc).lower()
            if not self.location.is_server or (
                "index not found" not in message and "not loaded" not in message
            ):
                raise
            # another process is creating this index right now: the info row is written only after every
            # collection is indexed and loaded, so a meta collection without its index has no row yet
            if "index not found" in message:
                return None
            self._call("load_collection", self.meta)
            rows = self._read_info_rows()
        if not rows:
            return None
        info = IndexInfo(**json.loads(rows[0]["value"]))
        self._dim = info.dim
        self._info = info
        return info

    def _read_info_rows(self) -> list[dict[str, Any]]:
        return list(
            self._call(
                "query",
                self.meta,
                filter='key == "info"',
                output_fields=["value"],
                consistency_level=CONSISTENCY,
            )
        )

    def write_info(self, info: IndexInfo) -> None:
        row = {"key": "info", "value": json.dumps(info.__dict__), "placeholder": PLACEHOLDER}
        self._call("upsert", self.meta, data=[row])
        self._info = info

    def shared_index_id(self) -> str | None:
        """Servers: an index id every process derives alike, Milvus' own id of the meta collection (new each
        time the index is created), so that shards creating one index at once agree on it whoever writes the
        info row last. None on Milvus Lite (one process at a time: a random id is enough)."""
        if not self.location.is_server:
            return None
        described = self._call("describe_collection", self.meta)
        value = described.get("collection_id") if isinstance(described, dict) else None
        return f"milvus-{value}" if value else None

    def generation(self, consistency: str = CONSISTENCY) -> str:
        """A value that every commit changes (one point query): equal values, nothing changed in between.
        `consistency="Bounded"` (the periodic check of an open index) answers without waiting for the
        server's time tick, and sees another process' commit a few seconds late at most."""
        if not self.exists():
            return ""
        rows = self._call(
            "query",
            self.meta,
            filter='key == "generation"',
            output_fields=["value"],
            consistency_level=consistency,
        )
        return str(rows[0]["value"]) if rows else ""

    def _bump_generation(self) -> None:
        value = json.dumps({"at": time.time(), "token": uuid.uuid4().hex})
        self._call(
            "upsert", self.meta, data=[{"key": "generation", "value": value, "placeholder": PLACEHOLDER}]
        )

    # ---- vector files (Milvus Lite) -------------------------------------------------------------------
    @property
    def keeps_vector_files(self) -> bool:
        """True on Milvus Lite: page vectors live in the index folder, not in Milvus."""
        return not self.location.is_server

    def vector_files(self) -> VectorFiles:
        """The index folder's vector files (Milvus Lite), opened on first use and checked against the index id."""
        if self._files is None:
            info = self._info or self.read_info()
            if info is None or info.dim is None or not info.index_id:
                raise UsageError("the index has no vectors yet")
            fresh = self.count(self.pages, "page_id >= 0") == 0  # nothing refers to any file yet
            self._files = VectorFiles.open(
                self.location.local_dir / VECTORS_FOLDER, info.dim, info.index_id, clear_foreign=fresh
            )
        return self._files

    # ---- reading ----------------------------------------------------------------------------------------
    def _query_all(
        self,
        collection: str,
        filter: str,
        fields: list[str],
        batch: int = QUERY_BATCH,
        consistency: str = CONSISTENCY,
    ) -> Iterator[dict[str, Any]]:
        iterator = self._call(
            "query_iterator",
            collection,
            batch_size=batch,
            filter=filter,
            output_fields=fields,
            consistency_level=consistency,
        )
        try:
            while rows := iterator.next():
                yield from rows
        finally:
            iterator.close()

    def _query_in(
        self, collection: str, field: str, values: Sequence[Any], fields: list[str]
    ) -> Iterator[dict[str, Any]]:
        for start in range(0, len(values), ID_LIST_BATCH):
            yield from self._query_all(collection, _in(field, values[start : start + ID_LIST_BATCH]), fields)

    def list_documents(self, filter: str = "") -> list[DocumentRecord]:
        fields = ["path", "content_hash", "status", "pages", "reason", "size", "indexed_at", "metadata"]
        rows = self._query_all(self.documents, filter or 'path != ""', fields, ROW_BATCH)
        return sorted((DocumentRecord(**{f: row[f] for f in fields}) for row in rows), key=lambda d: d.path)

    def get_documents(self, paths: Sequence[str]) -> list[DocumentRecord]:
        return self.list_documents(_in("path", paths)) if paths else []

    def list_pages(self, filter: str = "") -> list[PageRecord]:
        rows = self._query_all(self.pages, filter or "page_id >= 0", PAGE_FIELDS, ROW_BATCH)
        return [PageRecord(**{f: row[f] for f in PAGE_FIELDS}) for row in rows]

    def pages_of(self, content_hashes: Sequence[str]) -> list[PageRecord]:
        hashes = list(content_hashes)
        if len(hashes) > SCAN_ABOVE_HASHES:
            # one pass over every page row: Milvus Lite evaluates `content_hash in [...]` row by row in Python
            # for each page of an iterator, which made reading a 100,000-page catalog take many minutes
            wanted = set(hashes)
            return [p for p in self.list_pages() if p.content_hash in wanted]
        rows = self._query_in(self.pages, "content_hash", hashes, PAGE_FIELDS)
        return [PageRecord(**{f: row[f] for f in PAGE_FIELDS}) for row in rows]

    def fetch_vectors(
        self, pages: Sequence[PageRecord], dim: int, *, consistency: str = CONSISTENCY
    ) -> dict[int, np.ndarray]:
        """page_id -> (n, dim) float32 vectors (the stored bfloat16 values), for pages whose vectors are
        complete and intact; the others are left out with a logged reason. `consistency` (servers): "Bounded"
        skips the wait for the server's time tick; a page committed a moment ago may then be missing."""
        if self.keeps_vector_files:
            return self._read_files(pages)
        result: dict[int, np.ndarray] = {}
        group: list[PageRecord] = []
        size = 0
        for page in pages:  # each call's reply stays under FETCH_BYTES of chunk text
            weight = codec.chunk_count(page.n_vectors, dim) * codec.CHUNK_CHARS
            if group and size + weight > FETCH_BYTES:
                result.update(self._fetch_chunks(group, dim, consistency))
                group, size = [], 0
            group.append(page)
            size += weight
        if group:
            result.update(self._fetch_chunks(group, dim, consistency))
        return result

    def _read_files(self, pages: Sequence[PageRecord]) -> dict[int, np.ndarray]:
        files = self.vector_files()
        result: dict[int, np.ndarray] = {}
        for page in pages:
            ref = VectorRef.decode(page.vectors_ref)
            if ref is None or ref.rows != page.n_vectors:
                log.warning("page %d: no vectors on record (%r); left out", page.page_id, page.vectors_ref)
                continue
            try:
                result[page.page_id] = files.read(ref)
            except (OSError, ValueError) as exc:
                log.warning("page %d: its vectors cannot be read (%s); left out", page.page_id, exc)
        return result

    def _fetch_chunks(self, pages: Sequence[PageRecord], dim: int, consistency: str) -> dict[int, np.ndarray]:
        chunks: dict[int, dict[int, str]] = {}
        ids = [p.page_id for p in pages]
        rows_per_call = max(1, FETCH_BYTES // codec.CHUNK_CHARS)
        fields = ["page_id", "chunk", "data"]
        expression = f"{_in('page_id', ids)} and chunk >= 0"  # not the packed centroid rows
        for row in self._query_all(self.vectors, expression, fields, rows_per_call, consistency):
            chunks.setdefault(row["page_id"], {})[row["chunk"]] = row["data"]
        result: dict[int, np.ndarray] = {}
        for page in pages:
            parts = chunks.get(page.page_id, {})
            ordered = [parts[i] for i in range(len(parts)) if i in parts]
            if len(ordered) != len(parts) or not ordered:
                log.warning("page %d: its vector chunks are incomplete in Milvus; left out", page.page_id)
                continue
            vectors = codec.decode(ordered, dim)
            if len(vectors) == page.n_vectors:
                result[page.page_id] = vectors
            else:
                log.warning(
                    "page %d: %d vectors stored, %d on record; left out",
                    page.page_id,
                    len(vectors),
                    page.n_vectors,
                )
        return result

    def count(self, collection: str, filter: str = "") -> int:
        rows = self._call(
            "query", collection, filter=filter, output_fields=["count(*)"], consistency_level=CONSISTENCY
        )
        return int(rows[0]["count(*)"]) if rows else 0

    # ---- writing ----------------------------------------------------------------------------------------
    def _insert(self, collection: str, rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), INSERT_ROWS):
            self._call("upsert", collection, data=rows[start : start + INSERT_ROWS])

    def write_pages(self, pages: Sequence[StoredPage]) -> None:
        """Vectors first, then page rows: a page row is only ever visible with all of its vectors."""
        with _unchecked_varchars():
            self._write_pages(pages)

    def _write_pages(self, pages: Sequence[StoredPage]) -> None:
        chunk_rows: list[dict[str, Any]] = []
        page_rows: list[dict[str, Any]] = []
        if self.keeps_vector_files:  # durable on disk before any row refers to them
            refs = [r.encode() for r in self.vector_files().append([p.vectors for p in pages])]
        else:
            refs = [""] * len(pages)
        for item, ref in zip(pages, refs, strict=True):
            record = item.record
            record.vectors_ref = ref
            if not ref:
                for index, data in enumerate(codec.encode(item.vectors)):
                    chunk_rows.append(
                        {
                            "chunk_id": record.page_id * codec.MAX_CHUNKS + index,
                            "page_id": record.page_id,
                            "chunk": index,
                            "data": data,
                            "placeholder": PLACEHOLDER,
                        }
                    )
            mean = item.vectors.astype(np.float32).mean(axis=0)
            norm = float(np.linalg.norm(mean)) or 1.0
            page_rows.append(
                {
                    "page_id": record.page_id,
                    "content_hash": record.content_hash,
                    "page": record.page,
                    "n_vectors": record.n_vectors,
                    "width": record.width,
                    "height": record.height,
                    "metadata": record.metadata,
                    "vectors_ref": ref,
                    **self.text_index.row(record.text),
                    "mean_vector": (mean / norm).tolist(),
                }
            )
        if chunk_rows:
            self._insert(self.vectors, chunk_rows)
        self._insert(self.pages, page_rows)

    def write_document(self, document: DocumentRecord) -> None:
        """Upsert one path's row: for status 'indexed' this is the commit that makes its pages live."""
        self.write_documents([document])

    def write_documents(self, documents: Sequence[DocumentRecord]) -> None:
        rows = []
        for document in documents:
            row = dict(document.__dict__)
            row["indexed_at"] = row["indexed_at"] or time.time()
            row["reason"] = row["reason"][:2000]
            row["placeholder"] = PLACEHOLDER
            rows.append(row)
        self._insert(self.documents, rows)
        if rows:
            self._bump_generation()

    def delete_documents(self, paths: Sequence[str]) -> None:
        for start in range(0, len(paths), ID_LIST_BATCH):
            self._call("delete", self.documents, filter=_in("path", paths[start : start + ID_LIST_BATCH]))
        if paths:
            self._bump_generation()

    def delete_content(self, content_hashes: Sequence[str]) -> None:
        """Drop every page (rows first, then vectors) of these content hashes."""
        hashes = list(content_hashes)
        if not hashes:
            return
        page_ids = [p.page_id for p in self.pages_of(hashes)]
        for start in range(0, len(hashes), ID_LIST_BATCH):
            self._call(
                "delete", self.pages, filter=_in("content_hash", hashes[start : start + ID_LIST_BATCH])
            )
        if not self.keeps_vector_files:
            for start in range(0, len(page_ids), ID_LIST_BATCH):
                batch = page_ids[start : start + ID_LIST_BATCH]
                self._call("delete", self.vectors, filter=_in("page_id", batch))
                self._call("delete", self.centroids, filter=_in("page_id", batch))
        self._bump_generation()

    def delete_pages(self, page_ids: Sequence[int]) -> None:
        for start in range(0, len(page_ids), ID_LIST_BATCH):
            batch = list(page_ids[start : start + ID_LIST_BATCH])
            self._call("delete", self.pages, filter=_in("page_id", batch))
            if not self.keeps_vector_files:
                self._call("delete", self.vectors, filter=_in("page_id", batch))
                self._call("delete", self.centroids, filter=_in("page_id", batch))
        if page_ids:
            self._bump_generation()

    def _whole_page_rows(self, filter: str) -> list[dict[str, Any]]:
        """Page rows with every field they were written with: an upsert replaces whole rows."""
        fields = [*PAGE_FIELDS, "mean_vector", *self.text_index.fields()]
        return list(self._query_all(self.pages, filter, fields))

    def update_page_metadata(self, content_hash: str, metadata: dict[str, Any]) -> int:
        """Give every stored page of `content_hash` this metadata (a changed sidecar), keeping its vectors and
        text: the page rows are read whole and upserted. Returns the number of pages updated."""
        rows = self._whole_page_rows(_in("content_hash", [content_hash]))
        if not rows:
            return 0
        with _unchecked_varchars():
            self._insert(self.pages, [{**row, "metadata": metadata} for row in rows])
        self._bump_generation()
        return len(rows)

    def compact_vector_files(self, dead_share: float = COMPACT_DEAD_SHARE) -> int:
        """Milvus Lite: once more than `dead_share` of the vector files' bytes belong to no page row (removed or
        replaced pages), copy the pages' vectors into new files, point their rows there, and delete the old
        files. Crash-safe: rows point at old or new bytes, both present until every row is moved and flushed.
        Returns the bytes freed."""
        if not self.keeps_vector_files or self._info_or_none() is None:
            return 0
        files = self.vector_files()
        total = files.bytes_on_disk()
        rows = self._whole_page_rows("page_id >= 0")
        refs = [VectorRef.decode(row["vectors_ref"]) for row in rows]
        live = sum(r.rows * files.row_bytes for r in refs if r is not None)
        if total == 0 or total - live <= dead_share * total:
            return 0
        old = files.file_numbers()
        start = old[-1] + 1 if old else 0
        moving = [(row, ref) for row, ref in zip(rows, refs, strict=True) if ref is not None]
        log.info("compacting vector files: %d of %d bytes are dead", total - live, total)
        with _unchecked_varchars():
            for first in range(0, len(moving), COMPACT_BATCH):
                batch = moving[first : first + COMPACT_BATCH]
                moved = files.copy_to_new_files([ref for _, ref in batch], start)
                updated = [
                    {**row, "vectors_ref": ref.encode()} for (row, _), ref in zip(batch, moved, strict=True)
                ]
                self._insert(self.pages, updated)
        self.flush()
        files.remove_files(old)
        self._bump_generation()
        return total - files.bytes_on_disk()

    # ---- candidate search (servers) ----------------------------------------------------------------------
    def write_centroids(self, page_ids: Sequence[int], centroids: Sequence[np.ndarray]) -> None:
        """Each page's (m, dim) centroids as rows Milvus can search (servers only)."""
        rows = [
            {"centroid_id": page_id * CENTROIDS_PER_PAGE_MAX + j, "page_id": page_id, "vector": row.tolist()}
            for page_id, page in zip(page_ids, centroids, strict=True)
            for j, row in enumerate(np.asarray(page, dtype=np.float32)[:CENTROIDS_PER_PAGE_MAX])
        ]
        for start in range(0, len(rows), CENTROID_INSERT_ROWS):
            self._call("upsert", self.centroids, data=rows[start : start + CENTROID_INSERT_ROWS])
        # the same centroids packed in one chunk row a page (chunk CENTROID_CHUNK of the vectors collection):
        # re-estimating candidates reads one small row a page instead of decoding dozens of vector rows
        packed = [
            {
                "chunk_id": page_id * codec.MAX_CHUNKS + CENTROID_SLOT,
                "page_id": page_id,
                "chunk": CENTROID_CHUNK,
                "data": codec.encode(np.asarray(page, dtype=np.float32))[0],
                "placeholder": PLACEHOLDER,
            }
            for page_id, page in zip(page_ids, centroids, strict=True)
        ]
        with _unchecked_varchars():
            self._insert(self.vectors, packed)

    def search_centroids(
        self, tokens: np.ndarray, limit: int, page_ids: Sequence[int] | None = None
    ) -> list[list[tuple[int, float]]]:
        """For each query token, its `limit` most similar centroid rows as (page_id, score), best first;
        `page_ids` restricts the search to those pages (the filter runs inside Milvus)."""
        limit = max(1, min(limit, SEARCH_LIMIT_MAX))
        expression = _in("page_id", page_ids) if page_ids is not None else ""
        results = self._call(
            "search",
            self.centroids,
            data=np.asarray(tokens, dtype=np.float32).tolist(),
            anns_field="vector",
            limit=limit,
            filter=expression,
            output_fields=["page_id"],
            search_params={"metric_type": "IP", "params": {"ef": max(limit, 64)}},
            consistency_level=SEARCH_CONSISTENCY,
        )
        return [[(int(hit["entity"]["page_id"]), float(hit["distance"])) for hit in hits] for hits in results]

    def fetch_centroids(self, page_ids: Sequence[int], dim: int) -> dict[int, np.ndarray]:
        """page_id -> its (m, dim) centroids (servers only), from their packed rows, in calls of bounded size."""
        result: dict[int, np.ndarray] = {}
        per_call = max(1, FETCH_BYTES // codec.CHUNK_CHARS)
        fields = ["page_id", "data"]
        for start in range(0, len(page_ids), per_call):
            batch = list(page_ids[start : start + per_call])
            expression = f"{_in('page_id', batch)} and chunk == {CENTROID_CHUNK}"
            for row in self._query_all(self.vectors, expression, fields, per_call, SEARCH_CONSISTENCY):
                result[int(row["page_id"])] = codec.decode([row["data"]], dim)
        return result

    def _info_or_none(self) -> IndexInfo | None:
        return self._info or self.read_info()

    def flush(self) -> None:
        for name in (self.vectors, self.pages, self.documents, self.meta):
            self._call("flush", name)


@contextlib.contextmanager
def _unchecked_varchars() -> Iterator[None]:
    """pymilvus validates a VARCHAR row value by iterating it as if it were a list of strings: for a
    65,000-character chunk that is 65,000 isinstance/len calls, ~70% of insert time. Our chunks are ASCII
    and never longer than codec.CHUNK_CHARS (checked in codec.encode), so skip that check while we write."""
    from pymilvus.client import entity_helper

    previous = getattr(entity_helper, "CHECK_STR_ARRAY", True)
    entity_helper.CHECK_STR_ARRAY = False
    try:
        yield
    finally:
        entity_helper.CHECK_STR_ARRAY = previous


def _grpc_status(exc: BaseException) -> tuple[str | None, str]:
    """The gRPC status name and details behind a pymilvus error, if any. pymilvus reports a refused
    connection (bad credentials, server down) as one MilvusException(code=2, "Fail connecting ... illegal
    connection params or server unavailable") raised from the grpc.RpcError that says which it was."""
    visited: set[int] = set()
    seen: BaseException | None = exc
    while seen is not None and id(seen) not in visited:  # pymilvus raises `e from e`: chains can loop
        visited.add(id(seen))
        code = getattr(seen, "code", None)
        if callable(code):  # grpc.RpcError (a grpc.Call): code() -> grpc.StatusCode
            with contextlib.suppress(Exception):
                status = code()
                details = getattr(seen, "details", None)
                return getattr(status, "name", str(status)), str(details() if callable(details) else "")
        seen = seen.__cause__ or seen.__context__
    return None, ""


def _holder(location: IndexLocation) -> str:
    owner = location.local_dir / OWNER_FILE
    try:
        return owner.read_text().strip() or "another process"
    except OSError:
        return "another process"


def _check_lite_lock(location: IndexLocation) -> None:
    """Fail fast, with who holds it, when another process has the Milvus Lite folder open."""
    import fcntl
    import os
    import sys

    data_dir = Path(location.milvus_uri)
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise IndexBusyError(
            f"index {location.describe()} is in use by {_holder(location)}; one process at a time can open a "
            "Milvus Lite index (see README: indexing while serving)"
        ) from None
    finally:
        os.close(fd)  # closing drops our probe lock; Milvus Lite takes its own right after
    command = " ".join(Path(a).name if i == 0 else a for i, a in enumerate(sys.argv))[:200]
    with contextlib.suppress(OSError):
        (location.local_dir / OWNER_FILE).write_text(f"pid {os.getpid()} ({command})")


def _release_lite(data_path: str) -> None:
    """Stop the in-process Milvus Lite server for `data_path` so its folder lock is released."""
    try:
        from milvus_lite.server_manager import server_manager_instance
    except ImportError:  # pragma: no cover
        return
    release = getattr(server_manager_instance, "release_server", None)
    if release is not None:
        try:
            release(data_path)
        except Exception as exc:  # pragma: no cover - best effort on close
            log.debug("releasing Milvus Lite server for %s failed: %s", data_path, exc)
