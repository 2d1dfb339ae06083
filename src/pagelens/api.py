"""The facade users type first: `pagelens.open(...)` returns an Index that adds, searches and removes."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pagelens.embed.fingerprint import fingerprint, index_model_source, location_of
from pagelens.embed.pooling import check_pool_factor, pool_pages
from pagelens.errors import IndexMismatchError, NotFoundError, StoreError, UsageError
from pagelens.ingest import Ingestor
from pagelens.results import Failure, Hit, IndexStatus, IngestReport
from pagelens.search.cache import CacheIdentity
from pagelens.search.catalog import Catalog
from pagelens.search.filters import Filter
from pagelens.search.modes import hybrid_ranking, resolve_mode, text_ranking
from pagelens.search.retriever import DEFAULT_CANDIDATES, Retriever
from pagelens.search.server_retriever import ServerRetriever
from pagelens.search.snippets import snippet
from pagelens.search.text import TextSearch
from pagelens.sources.rerender import render_indexed_page
from pagelens.store.location import DEFAULT_INDEX, IndexLocation
from pagelens.store.milvus import SEARCH_CONSISTENCY, MilvusStore
from pagelens.store.records import (
    SCHEMA_VERSION,
    DocumentRecord,
    IndexInfo,
    PageRecord,
    StoredPage,
    page_id_for,
)

if TYPE_CHECKING:
    from PIL import Image

    from pagelens.embed.protocol import Embedder
    from pagelens.transfer import TransferReport

log = logging.getLogger(__name__)

DEFAULT_MODEL = "vidore/colqwen2.5-v0.2"
DEFAULT_IMAGE_SIDE = 1024

WRITE_BATCH_PAGES = 64
GENERATION_CHECK_SECONDS = 1.0

FilterLike = Filter | Mapping[str, Any] | str | None


def default_index() -> str:
    return os.environ.get("PAGELENS_INDEX") or DEFAULT_INDEX


def open(  # noqa: A001 - mirrors the builtin on purpose: pagelens.open("folder")
    uri: str | os.PathLike[str] | None = None,
    *,
    model: str | None = None,
    token: str | None = None,
    collection: str = "pagelens",
    device: str = "auto",
    batch_size: int | None = None,
    candidates: int | None = DEFAULT_CANDIDATES,
    embedder: Embedder | None = None,
    create: bool = True,
) -> Index:
    """Open (or create) an index.

    `uri`: a local folder (Milvus Lite; default `$PAGELENS_INDEX` or ./pagelens_index) or a Milvus server
    (`http://host:19530`, with `token`; default `$PAGELENS_TOKEN`). `model`: a ColPali-family checkpoint (hub
    name or local folder), default the index's own model. Without a model the index works on embeddings
    alone (`add_embeddings`, `search_embedding`). `embedder` passes a ready Embedder instead of a name.
    `create=False` opens an existing index only: NotFoundError where there is none, and nothing is created.
    """
    location = IndexLocation.parse(
        uri if uri is not None else default_index(),
        token=token if token is not None else os.environ.get("PAGELENS_TOKEN") or None,
        collection=collection,
    )
    if not create and not index_may_exist(location):
        raise NotFoundError(no_index_message(location))
    index = Index(
        location, model=model, device=device, batch_size=batch_size, candidates=candidates, embedder=embedder
    )
    if not create and index.info.dim is None:  # a folder or server without pagelens' collections
        index.close()
        raise NotFoundError(no_index_message(location))
    return index


def index_may_exist(location: IndexLocation) -> bool:
    """False where there is certainly no index (a Milvus Lite folder without its data); checks no server."""
    return location.is_server or Path(location.milvus_uri).is_dir()


def no_index_message(location: IndexLocation) -> str:
    return f"no index at {location.describe()} (create one with `pagelens index`)"


class Index:
    """A searchable collection of pages in Milvus. Use `pagelens.open(...)` to get one."""

    def __init__(
        self,
        location: IndexLocation,
        *,
        model: str | None = None,
        device: str = "auto",
        batch_size: int | None = None,
        candidates: int | None = DEFAULT_CANDIDATES,
        embedder: Embedder | None = None,
    ) -> None:
        self.location = location
        self.device = device
        self.batch_size = batch_size
        self.store = MilvusStore(location)
        try:
            self.store.load()
            self.info = self.store.read_info() or IndexInfo(model=None, dim=None)
            if embedder is not None:
                model = model or embedder.model_id
            self._model_source = model
            if self.info.model is not None:  # the same checkpoint by fingerprint, wherever it lies now
                self._model_source = index_model_source(
                    self.info.model, self.info.model_fingerprint, self.info.model_location, model
                )
                if self._model_source is None:
                    raise IndexMismatchError(
                        f"index {location.describe()} was built with model {self.info.model!r}; "
                        f"{model!r} is a different checkpoint (use another --index)"
                    )
            self.model = model or self.info.model
            if self.info.schema_version != SCHEMA_VERSION:
                raise IndexMismatchError(
                    f"index {location.describe()} has schema version {self.info.schema_version}; "
                    f"this pagelens reads version {SCHEMA_VERSION}"
                )
        except Exception:
            self.store.close()
            raise
        self._embedder = embedder
        self._candidates = candidates
        self._retriever: Retriever | ServerRetriever | None = None
        self._text_search: TextSearch | None = None
        self._has_text: tuple[str, bool] | None = None  # (generation, whether live pages have text)
        self._catalog: Catalog | None = None
        self._stale = True
        self._generation = ""
        self._checked_at = 0.0

    # ---- lifecycle --------------------------------------------------------------------------------------
    def close(self) -> None:
        if self._retriever is not None:
            self._retriever.close()
        self.store.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<pagelens.Index {self.location.describe()} model={self.model!r}>"

    # ---- the model --------------------------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        """The model, loaded on first use."""
        if self._embedder is None:
            if self.model is None:
                raise UsageError(
                    f"index {self.location.describe()} has no model: pass model=... (CLI: --model) "
                    "to embed documents or text, or use add_embeddings / search_embedding"
                )
            from pagelens.embed import load_embedder

            self._embedder = load_embedder(
                self._model_source or self.model, device=self.device, batch_size=self.batch_size
            )
            self._note_model_location()
        return self._embedder

    def _note_model_location(self) -> None:
        """Remember where the index's model was last found (a moved or copied folder)."""
        source = self._model_source or self.model
        if source is None or self.info.dim is None or self.info.model_fingerprint is None:
            return
        if location_of(source) != self.info.model_location:
            self.info.model_location = location_of(source)
            self.store.write_info(self.info)

    def _image_side(self) -> int:
        return int(getattr(self.embedder, "image_side", DEFAULT_IMAGE_SIDE))

    def _ensure_schema(self, dim: int) -> None:
        if self.info.dim is not None and self.info.dim != dim:
            raise IndexMismatchError(
                f"index {self.location.describe()} holds {self.info.dim}-d embeddings; got {dim}-d vectors"
            )
        if self.info.dim is None:
            self.store.create(dim)
            written = self.store.read_info()  # another process may have created this index a moment ago
            if written is not None and written.dim == dim:
                if written.model is not None and self.model is not None and written.model != self.model:
                    raise IndexMismatchError(
                        f"index {self.location.describe()} was just created by another process with model "
                        f"{written.model!r}; this one uses {self.model!r}"
                    )
                self.info = written  # share its identity (index id): the first info row written wins
            else:
                self.info.index_id = self.store.shared_index_id() or self.info.index_id
        changed = self.info.dim is None or (self.info.model is None and self.model is not None)
        if self.model is not None and (self.info.model is None or self.info.model_fingerprint is None):
            self.info.model_fingerprint = fingerprint(self._model_source or self.model, dim).to_dict()
            self.info.model_location = location_of(self._model_source or self.model)
            changed = True
        if self.info.dim is None:
            self.info.dim = dim
        if self.info.model is None and self.model is not None:
            self.info.model = self.model
        if changed:
            self.store.write_info(self.info)

    # ---- writing ----------------------------------------------------------------------------------------
    def _embedder_for_writing(self) -> Embedder:
        embedder = self.embedder
        self._ensure_schema(embedder.dim)
        return pool_pages(embedder, self.info.pool_factor)  # pages only: queries use self.embedder

    def _pages_written(self, pages: list[StoredPage]) -> None:
        self.retriever.add_local([s.record for s in pages], [s.vectors for s in pages])
        self._stale = True

    def add(
        self,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        *,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        password: str | None = None,
        prune: bool = False,
        metadata: Mapping[str, Any] | None = None,
        progress: bool | None = None,
        image_column: str | None = None,
        id_column: str | None = None,
        shard: tuple[int, int] | None = None,
        pool_factor: int | None = None,
    ) -> IngestReport:
        """Index files and folders (PDFs, images, datasets). Unchanged files are skipped; bad files are
        reported in the returned report's `failed`, and never stop the others.

        `shard=(i, n)` (1-based) indexes only the i-th of n disjoint parts of the inputs (by a stable hash of
        each path), so n processes or machines can share one corpus and one Milvus server.

        `pool_factor=N` (new indexes) stores about 1/N of each page's vectors (hierarchical token pooling,
        `pagelens.embed.pooling`); the index remembers it and every later add uses it."""
        inputs = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
        if pool_factor is not None and check_pool_factor(pool_factor) != self.info.pool_factor:
            if self.info.dim is not None:
                raise UsageError(
                    f"index {self.location.describe()} stores pages pooled by factor {self.info.pool_factor}; "
                    f"it cannot take pool factor {pool_factor} (use another --index)"
                )
            self.info.pool_factor = pool_factor
        if self.info.dim is None and self.model is None:
            raise UsageError("this index has no model yet: pass model=... to index documents")
        ingestor = Ingestor(
            self.store,
            self._embedder_for_writing,
            self._pages_written,
            image_side=self._image_side,
            batch_size=self.batch_size or getattr(self._embedder, "batch_size", None),
            progress=progress,
        )
        if self.info.dim is None:  # a new index: create collections before the first failure is recorded
            self._embedder_for_writing()
        report = ingestor.run(
            [os.fspath(p) for p in inputs],
            include=include,
            exclude=exclude,
            password=password,
            prune=prune,
            metadata=dict(metadata or {}),
            image_column=image_column,
            id_column=id_column,
            shard=shard,
        )
        self._stale = True
        return report

    def add_embeddings(self, records: Iterable[Mapping[str, Any]]) -> IngestReport:
        """Store pages you embedded yourself. Each record: `path`, `page` (1-based), `embedding` (n x dim),
        optional `metadata`. Pages of one path form a document; re-adding identical vectors is a no-op."""
        started = time.perf_counter()
        report = IngestReport()
        grouped: dict[str, list[Mapping[str, Any]]] = {}
        for record in records:
            for key in ("path", "page", "embedding"):
                if key not in record:
                    raise UsageError(f"embedding record is missing {key!r}: {dict(record)!r:.200}")
            grouped.setdefault(str(record["path"]), []).append(record)
        # only these paths' rows: listing every document on each call made bulk loads quadratic
        known = (
            {d.path: d for d in self.store.get_documents(sorted(grouped))}
            if self.info.dim is not None
            else {}
        )
        pending_pages: list[StoredPage] = []
        pending_documents: list[tuple[DocumentRecord, DocumentRecord | None]] = []
        for path, items in grouped.items():
            arrays = [_as_matrix(item["embedding"], path, int(item["page"])) for item in items]
            self._ensure_schema(arrays[0].shape[1])
            for array, item in zip(arrays, items, strict=True):
                if array.shape[1] != self.info.dim:
                    raise IndexMismatchError(
                        f"{path} page {item['page']}: {array.shape[1]}-d vectors, index holds {self.info.dim}-d"
                    )
            digest = hashlib.sha256()
            for array, item in sorted(zip(arrays, items, strict=True), key=lambda pair: int(pair[1]["page"])):
                digest.update(f"{int(item['page'])}:".encode())
                digest.update(np.ascontiguousarray(array, dtype=np.float16).tobytes())
            content_hash = "emb-" + digest.hexdigest()
            existing = known.get(path)
            if existing and existing.content_hash == content_hash and existing.status == "indexed":
                report.documents_unchanged += 1
                continue
            pending_pages.extend(
                StoredPage(
                    PageRecord(
                        page_id=page_id_for(content_hash, int(item["page"])),
                        content_hash=content_hash,
                        page=int(item["page"]),
                        n_vectors=len(array),
                        metadata=dict(item.get("metadata") or {}),
                    ),
                    array,
                )
                for array, item in zip(arrays, items, strict=True)
            )
            pending_documents.append(
                (
                    DocumentRecord(path=path, content_hash=content_hash, status="indexed", pages=len(items)),
                    existing,
                )
            )
            if len(pending_pages) >= WRITE_BATCH_PAGES:
                self._write_embedded(pending_pages, pending_documents, report)
                pending_pages, pending_documents = [], []
        if pending_documents:
            self._write_embedded(pending_pages, pending_documents, report)
        report.seconds = time.perf_counter() - started
        return report

    def _write_embedded(
        self,
        pages: list[StoredPage],
        documents: list[tuple[DocumentRecord, DocumentRecord | None]],
        report: IngestReport,
    ) -> None:
        """Pages of several documents in one write, then their document rows (the commits)."""
        timer = time.perf_counter()
        self.store.write_pages(pages)
        self._pages_written(pages)
        self.store.write_documents([document for document, _ in documents])
        replaced = [
            old.content_hash for new, old in documents if old and old.content_hash != new.content_hash
        ]
        self.store.delete_content(replaced)
        report.documents_replaced += len(replaced)
        report.timings["store"] += time.perf_counter() - timer
        report.pages_added += len(pages)
        report.documents_added += len(documents)

    def export(self, folder: str | os.PathLike[str]) -> TransferReport:
        """Write this index (documents, pages, vectors, model id) to Parquet files in a new `folder`."""
        from pagelens.transfer import export_index

        return export_index(self.store, self.info, Path(folder))

    def import_(self, folder: str | os.PathLike[str]) -> TransferReport:
        """Load an export made by `export` (from any index: Lite or server) without re-embedding anything."""
        from pagelens.transfer import import_index

        if self.model is not None and self.info.model is None and self.info.dim is None:
            self.info.model = self.model

        def on_pages(pages: list[StoredPage]) -> None:
            if self.info.dim is None:  # a new index: import_index has just created it
                self.info = self.store.read_info() or self.info
            self._pages_written(pages)

        report, self.info = import_index(self.store, self.info, Path(folder), on_pages)
        self.model = self.model or self.info.model
        self._stale = True
        return report

    def remove(self, paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> int:
        """Remove documents by path (a folder removes everything under it). Returns how many were removed."""
        if self.info.dim is None:
            return 0
        documents = self.store.list_documents()
        targets = self.matching(paths, documents)
        paths_to_drop = sorted({d.path for d in targets})
        self.store.delete_documents(paths_to_drop)
        remaining = {d.content_hash for d in documents if d.path not in set(paths_to_drop)}
        self.store.delete_content(sorted({d.content_hash for d in targets} - remaining))
        self.store.compact_vector_files()
        self._stale = True
        return len(paths_to_drop)

    def matching(
        self,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        documents: list[DocumentRecord] | None = None,
    ) -> list[DocumentRecord]:
        """The documents `remove(paths)` would remove (a folder: everything under it); NotFoundError for a
        path that matches none."""
        inputs = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
        documents = self.documents() if documents is None else documents
        targets: list[DocumentRecord] = []
        for raw in inputs:
            text = os.fspath(raw)
            resolved = str(Path(text).expanduser().resolve())
            matched = [d for d in documents if d.path in (text, resolved) or _under(d.path, resolved)]
            if not matched:
                raise NotFoundError(f"{text}: not in the index")
            targets.extend(matched)
        return targets

    # ---- reading ----------------------------------------------------------------------------------------
    @property
    def retriever(self) -> Retriever | ServerRetriever:
        """Where candidates come from: Milvus itself on a server; the index folder's own data on Milvus Lite
        (whose vector search is too slow to be the candidate engine)."""
        if self._retriever is None:
            if self.info.dim is None:
                raise UsageError("the index is empty")
            identity = CacheIdentity(self.info.index_id, self.info.model, self.info.dim)
            if self.location.is_server:
                self._retriever = ServerRetriever(self.store, identity, self._candidates)
            else:
                self._retriever = Retriever(
                    self.store, identity, self.location.local_dir / "cache", self._candidates
                )
        return self._retriever

    def refresh(self) -> Catalog:
        """Re-read what is live from Milvus and bring the local cache in step."""
        from pagelens.search import catalog_snapshot

        self._generation = self.store.generation()  # read first: a commit during the reads re-reads later
        self._checked_at = time.monotonic()
        # Milvus Lite reads rows slowly (a 100,000-page catalog took minutes): reuse a snapshot of the same
        # generation; a server answers fast, and its clients keep nothing on disk
        folder = None if self.location.is_server else self.location.local_dir / "cache"
        catalog = catalog_snapshot.load(folder, self.info.index_id, self._generation) if folder else None
        if catalog is None:
            catalog = Catalog(self.store.list_documents('status == "indexed"'), [])
            catalog = Catalog(catalog.documents, self.store.pages_of(sorted(catalog.paths_by_hash)))
            if folder is not None:
                catalog_snapshot.save(folder, self.info.index_id, self._generation, catalog)
        self.retriever.sync(catalog)
        self._catalog = catalog
        self._stale = False
        return catalog

    @property
    def catalog(self) -> Catalog:
        """What is live, re-read when this process wrote, or (checked at most once a second, one point
        query) when another process committed since."""
        if self._catalog is None or self._stale:
            return self.refresh()
        now = time.monotonic()
        if now - self._checked_at >= GENERATION_CHECK_SECONDS:
            self._checked_at = now
            if self.store.generation(SEARCH_CONSISTENCY) != self._generation:
                return self.refresh()
        return self._catalog

    def search(
        self,
        query: str | Image.Image | os.PathLike[str] | None = None,
        k: int = 5,
        *,
        image: Image.Image | str | os.PathLike[str] | None = None,
        exact: bool = False,
        filter: FilterLike = None,
        mode: str | None = None,
        candidates: int | None = None,
    ) -> list[Hit]:
        """Pages best matching a query, best first. A `str` is always text. An image is `image=` (a PIL
        image or an image file's path, str or Path), or a PIL image or `Path` given as `query`; a str that
        names an existing image file raises UsageError rather than being searched for as text.

        `filter`: a Filter, a dict (path, documents, pages, metadata, expression) or a Milvus expression.
        `mode`: "visual" (MaxSim), "text" (BM25 on the pages' text; needs no model) or "hybrid" (both,
        reciprocal rank fusion); default hybrid when the index holds text, else visual. Image: visual.
        `candidates`: pages scored exactly first, after candidate generation, for this search (default: the index's)."""
        query = _one_query(query, image)
        if self.info.dim is None:
            return []  # nothing indexed yet: no model needed to know that
        mode = resolve_mode(mode, text_query=isinstance(query, str), has_text=self.has_text)
        if mode == "visual":
            return self.search_embedding(
                self.embed_query(query), k, exact=exact, filter=filter, candidates=candidates
            )
        vectors = self.embed_query(query) if mode == "hybrid" else None
        return self._search_text(str(query), vectors, k, mode, exact, filter, candidates)

    def embed_query(
        self,
        query: str | Image.Image | os.PathLike[str] | None = None,
        *,
        image: Image.Image | str | os.PathLike[str] | None = None,
    ) -> np.ndarray:
        """The query's multi-vector: text through the model's query side, an image through its page side
        (the same rule as `search`)."""
        query = _one_query(query, image)
        if isinstance(query, str):
            return self.embedder.embed_queries([query])[0]
        return self.embedder.embed_images([_load_query_image(query)])[0]

    def search_many(
        self,
        queries: Sequence[str],
        k: int = 5,
        *,
        exact: bool = False,
        filter: FilterLike = None,
        mode: str | None = None,
        candidates: int | None = None,
    ) -> list[list[Hit]]:
        """Several text queries, embedded in batches; one result list per query, in order."""
        if any(not q.strip() for q in queries):
            raise UsageError("one of the queries is empty")
        for query in queries:
            _one_query(query, None)  # text only: a str naming an image file is refused, as in `search`
        if self.info.dim is None:
            return [[] for _ in queries]
        mode = resolve_mode(mode, text_query=True, has_text=self.has_text)
        embedded = self.embedder.embed_queries(list(queries)) if queries and mode != "text" else []
        if mode == "visual":
            return [
                self.search_embedding(vectors, k, exact=exact, filter=filter, candidates=candidates)
                for vectors in embedded
            ]
        vectors_of: list[np.ndarray | None] = list(embedded) or [None] * len(queries)
        return [
            self._search_text(q, v, k, mode, exact, filter, candidates)
            for q, v in zip(queries, vectors_of, strict=True)
        ]

    @property
    def text_search(self) -> TextSearch:
        """BM25 over the pages' own text (search/text.py)."""
        if self._text_search is None:
            self._text_search = TextSearch(self.store)
        return self._text_search

    def has_text(self) -> bool:
        """Whether any live page has text (checked again after each commit)."""
        catalog = self.catalog
        if self._has_text is None or self._has_text[0] != self._generation:
            count = (
                self.text_search.index.count_with_text(sorted(catalog.paths_by_hash)) if catalog.pages else 0
            )
            self._has_text = (self._generation, count > 0)
        return self._has_text[1]

    def _search_text(
        self,
        query: str,
        vectors: np.ndarray | None,
        k: int,
        mode: str,
        exact: bool,
        filter: FilterLike,
        candidates: int | None = None,
    ) -> list[Hit]:
        """Text or hybrid mode (search/modes.py), with snippets."""
        catalog = self.catalog
        allowed = self._allowed(catalog, filter)
        if vectors is None:
            ranked = text_ranking(self.text_search, query, k, catalog, allowed)
        else:
            matrix = _as_matrix(vectors, "query", 0)

            def visual(q: np.ndarray, n: int, ids: Sequence[int] | None, exact_: bool) -> list[Any]:
                return self.retriever.search(q, n, exact=exact_, allowed=ids, candidates=candidates)

            ranked = hybrid_ranking(self.text_search, visual, query, matrix, k, catalog, allowed, exact=exact)
        return self._hits(catalog, ranked, mode=mode, query=query)

    def search_embedding(
        self,
        query: np.ndarray,
        k: int = 5,
        *,
        exact: bool = False,
        filter: FilterLike = None,
        candidates: int | None = None,
    ) -> list[Hit]:
        """Pages best matching a query multi-vector (q x dim) you embedded yourself."""
        if self.info.dim is None:
            return []
        matrix = _as_matrix(query, "query", 0)
        if matrix.shape[1] != self.info.dim:
            raise IndexMismatchError(
                f"query has {matrix.shape[1]}-d vectors; the index holds {self.info.dim}-d"
            )
        catalog = self.catalog
        allowed = self._allowed(catalog, filter)
        return self._hits(
            catalog, self.retriever.search(matrix, k, exact=exact, allowed=allowed, candidates=candidates)
        )

    def similar(
        self,
        page: int | Hit,
        k: int = 5,
        *,
        exact: bool = False,
        filter: FilterLike = None,
        candidates: int | None = None,
    ) -> list[Hit]:
        """Pages that look like an indexed page (its stored vectors are the query; the page itself is left out)."""
        page_id = page.page_id if isinstance(page, Hit) else int(page)
        catalog = self.catalog
        if page_id not in catalog.by_id:
            raise NotFoundError(f"page id {page_id} is not in the index")
        vectors = self.page_vectors(page_id)
        allowed = self._allowed(catalog, filter)
        return self._hits(
            catalog,
            self.retriever.search(
                vectors, k, exact=exact, allowed=allowed, exclude=[page_id], candidates=candidates
            ),
        )

    def _allowed(self, catalog: Catalog, filter: FilterLike) -> list[int] | None:
        """Page ids that pass the filter, as Milvus evaluates it on the page rows (None: no filter)."""
        spec = Filter.coerce(filter)
        if spec is None:
            return None
        parts: list[str] = []
        if spec.needs_documents:
            hashes = sorted({d.content_hash for d in catalog.documents if spec.matches_path(d.path)})
            if not hashes:
                return []
            parts.append(f"content_hash in {json.dumps(hashes)}")
        expression = spec.page_expression()
        if expression:
            parts.append(expression)
        if not parts:
            return None
        try:
            rows = self.store.list_pages(" and ".join(parts))
        except StoreError as exc:
            raise UsageError(f"invalid filter: {exc}") from exc
        return [p.page_id for p in rows if p.page_id in catalog.by_id]

    def find_page(self, path: str | os.PathLike[str], page: int) -> int:
        """The page id of page `page` (1-based) of an indexed file."""
        text = os.fspath(path)
        resolved = str(Path(text).expanduser().resolve())
        for document in self.catalog.documents:
            if document.path in (text, resolved):
                page_id = page_id_for(document.content_hash, page)
                if page_id in self.catalog.by_id:
                    return page_id
                raise NotFoundError(f"{text} has {document.pages} page(s); there is no page {page}")
        raise NotFoundError(f"{text}: not in the index")

    def _hits(
        self, catalog: Catalog, scored: list[Any], *, mode: str = "visual", query: str | None = None
    ) -> list[Hit]:
        hits = []
        texts = {}
        if mode != "visual" and query is not None and scored:  # snippets from the hits' own text
            texts = self.text_search.index.texts([item.page_id for item in scored])
        for rank, item in enumerate(scored, start=1):
            record = catalog.by_id[item.page_id]
            path = catalog.path_of(record)
            hits.append(
                Hit(
                    rank=rank,
                    score=item.score,
                    path=path,
                    page=record.page,
                    page_id=record.page_id,
                    content_hash=record.content_hash,
                    metadata=dict(record.metadata or {}),
                    _render=self._renderer(path, record),
                    visual_score=getattr(item, "visual_score", item.score if mode == "visual" else None),
                    text_score=getattr(item, "text_score", None),
                    snippet=snippet(texts.get(item.page_id, ""), query) if texts and query else None,
                    mode=mode,
                )
            )
        return hits

    def _renderer(self, path: str, record: PageRecord) -> Callable[[], Image.Image]:
        side = int(getattr(self._embedder, "image_side", DEFAULT_IMAGE_SIDE))
        return lambda: render_indexed_page(path, record, side)

    def render_page(self, page_id: int, side: int | None = None) -> Image.Image:
        """An indexed page rendered again from its source (NotFoundError if the source changed or is gone)."""
        record = self.catalog.by_id.get(page_id)
        if record is None:
            raise NotFoundError(f"page id {page_id} is not in the index")
        size = side or int(getattr(self._embedder, "image_side", DEFAULT_IMAGE_SIDE))
        return render_indexed_page(self.catalog.path_of(record), record, size)

    def page_vectors(self, page_id: int) -> np.ndarray:
        """The stored (n x dim) vectors of an indexed page, float32."""
        if page_id not in self.catalog.by_id:
            raise NotFoundError(f"page id {page_id} is not in the index")
        if page_id not in self.retriever:
            raise NotFoundError(f"page id {page_id} has no readable vectors (see the log)")
        return self.retriever.vectors_of(page_id)

    def status(self) -> IndexStatus:
        documents = self.store.list_documents() if self.info.dim is not None else []
        indexed = [d for d in documents if d.status == "indexed"]
        hashes = sorted({d.content_hash for d in indexed})
        pages = self.store.pages_of(hashes) if hashes else []
        return IndexStatus(
            location=self.location.describe(),
            model=self.info.model or self.model,
            dim=self.info.dim,
            schema_version=self.info.schema_version,
            documents=len(indexed),
            pages=len(pages),
            vectors=sum(p.n_vectors for p in pages),
            failed=[Failure(d.path, d.reason) for d in documents if d.status == "failed"],
            adjusted=[Failure(d.path, d.reason) for d in indexed if d.reason],
            pool_factor=self.info.pool_factor,
            vector_dtype=self.info.vector_dtype,
            **self._text_status(hashes),
        )

    def _text_status(self, hashes: list[str]) -> dict[str, Any]:
        """`status`'s text part: pages with text, the text engine, the OCR engine (None: not installed)."""
        from pagelens.sources.text import ocr_engine

        if self.info.dim is None:
            return {"ocr": ocr_engine()}
        index = self.text_search.index
        count = index.count_with_text(hashes) if hashes else 0
        return {"pages_with_text": count, "text_search": index.engine, "ocr": ocr_engine()}

    def documents(self) -> list[DocumentRecord]:
        return self.store.list_documents() if self.info.dim is not None else []


def _under(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip(os.sep) + os.sep)


def _as_matrix(value: Any, path: str, page: int) -> np.ndarray:
    array = np.asarray(value, dtype=np.float32)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise UsageError(
            f"{path} page {page}: embedding must be a non-empty (n x dim) array, got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise UsageError(f"{path} page {page}: embedding holds NaN or infinite values")
    return array


def _one_query(query: Any, image: Any) -> Any:
    """The query `search` means: text (a str), or an image (`image=`, a PIL image or a Path)."""
    if image is not None:
        if query is not None:
            raise UsageError("give a text query or image=..., not both")
        return image if not isinstance(image, str) else Path(image)
    if query is None:
        raise UsageError("give a text query or image=...")
    if isinstance(query, str):
        if not query.strip():
            raise UsageError("the query is empty")
        if _names_image_file(query):
            raise UsageError(
                f"{query!r} is an image file, and a str is always a text query: to search with the image, "
                f"pass image={query!r} or a Path (CLI: --image)"
            )
    return query


def _names_image_file(text: str) -> bool:
    from pagelens.sources.document import IMAGE_SUFFIXES

    if len(text) > 4096 or "\n" in text or Path(text).suffix.lower() not in IMAGE_SUFFIXES:
        return False
    try:
        return Path(text).expanduser().is_file()
    except OSError:
        return False


def _load_query_image(query: Any) -> Image.Image:
    from PIL import Image as PILImage

    if isinstance(query, PILImage.Image):
        return query.convert("RGB")
    from pagelens.sources.images import render_image

    for _, image in render_image(os.fspath(query), DEFAULT_IMAGE_SIDE):
        return image
    raise UsageError(f"{query}: no image")
