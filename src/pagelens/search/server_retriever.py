"""Search on a Milvus server: Milvus finds the candidates, pagelens scores them exactly. No corpus copy.

Each page's k-means centroids (search/pooling.py) are rows of a real vector field with an HNSW index on the
server, written beside the page's vectors. A query:
1. Milvus searches each query token's `limit` nearest centroid rows (one call, every token at once; a filter
   on page ids runs inside the same call);
2. a page's estimate is the sum over tokens of its best centroid score among that token's hits, or, where the
   page is not among them, the token's weakest returned score (an upper bound for a page the token missed);
3. pages are scored exactly in order of their estimate, widening while an unscored page could still enter the
   top k (adaptive.py), on their full vectors fetched from Milvus in byte-bounded calls and kept in a bounded
   LRU (`$PAGELENS_SERVER_CACHE_MB`, default 512 MB).
The client's memory and disk do not grow with the page count (beyond the catalog's page rows).
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Iterable

import numpy as np

from pagelens.search.adaptive import image_query_finalists, widen_exactly
from pagelens.search.cache import CacheIdentity
from pagelens.search.catalog import Catalog
from pagelens.search.maxsim import score_pages
from pagelens.search.pooling import centroids_and_sizes, page_centroids
from pagelens.search.retriever import (
    ADAPTIVE_FACTOR,
    LARGE_QUERY,
    LARGE_QUERY_FINALISTS,
    QUERY_CENTROIDS,
    Scored,
    SearchTrace,
    auto_candidates,
)
from pagelens.store.milvus import SEARCH_CONSISTENCY, SEARCH_LIMIT_MAX, MilvusStore
from pagelens.store.records import PageRecord

log = logging.getLogger(__name__)

DEFAULT_CACHE_MB = 512
FILTER_IN_MILVUS_MAX = 4000  # allowed page ids passed into Milvus' search; beyond this, filtered afterwards
HITS_PER_TOKEN_FACTOR = 2  # each token asks for this many times the exact stage's ceiling of centroid hits
MIN_HITS_PER_TOKEN = 256
FETCH_PAGES = 64


class VectorLRU:
    """Page vectors by page id, least recently used dropped first, bounded by bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[int, np.ndarray] = OrderedDict()

    def get(self, page_id: int) -> np.ndarray | None:
        item = self._items.get(page_id)
        if item is not None:
            self._items.move_to_end(page_id)
        return item

    def put(self, page_id: int, vectors: np.ndarray) -> None:
        if page_id in self._items:
            self.bytes -= self._items.pop(page_id).nbytes
        if vectors.nbytes > self.max_bytes:
            return
        self._items[page_id] = vectors
        self.bytes += vectors.nbytes
        while self.bytes > self.max_bytes:
            _, dropped = self._items.popitem(last=False)
            self.bytes -= dropped.nbytes


class ServerRetriever:
    """The same interface as Retriever (retriever.py), for an index on a Milvus server."""

    def __init__(self, store: MilvusStore, identity: CacheIdentity, candidates: int | None = None) -> None:
        self.store = store
        self.dim = identity.dim
        self.candidates = candidates
        megabytes = int(os.environ.get("PAGELENS_SERVER_CACHE_MB", DEFAULT_CACHE_MB))
        self.lru = VectorLRU(megabytes << 20)
        self.trace = SearchTrace()
        self._live: dict[int, PageRecord] = {}
        self._order = np.empty(0, dtype=np.int64)
        self._unreadable: set[int] = set()

    # ---- keeping in step ------------------------------------------------------------------------------
    def add_local(self, pages: list[PageRecord], vectors: list[np.ndarray]) -> None:
        """Pages this process just wrote: their centroids become searchable rows in Milvus."""
        self.store.write_centroids(
            [p.page_id for p in pages], [page_centroids(np.asarray(v, dtype=np.float32)) for v in vectors]
        )

    def sync(self, catalog: Catalog) -> None:
        self._live = {p.page_id: p for p in catalog.pages if p.page_id not in self._unreadable}
        self._order = np.array(sorted(self._live), dtype=np.int64)

    def close(self) -> None:
        self.lru = VectorLRU(self.lru.max_bytes)

    # ---- reading ----------------------------------------------------------------------------------------
    @property
    def page_count(self) -> int:
        return len(self._live)

    def __contains__(self, page_id: int) -> bool:
        return page_id in self._live

    def vectors_of(self, page_id: int) -> np.ndarray:
        return self._vectors([page_id])[page_id]

    def _vectors(self, page_ids: Iterable[int]) -> dict[int, np.ndarray]:
        """Full vectors of these pages, from the LRU or fetched; pages whose vectors are unreadable are
        dropped from the searchable set (the store logs why)."""
        found: dict[int, np.ndarray] = {}
        missing: list[PageRecord] = []
        for page_id in page_ids:
            cached = self.lru.get(page_id)
            if cached is not None:
                found[page_id] = cached
            else:
                missing.append(self._live[page_id])
        for start in range(0, len(missing), FETCH_PAGES):
            batch = missing[start : start + FETCH_PAGES]
            fetched = self.store.fetch_vectors(batch, self.dim, consistency=SEARCH_CONSISTENCY)
            late = [record for record in batch if record.page_id not in fetched]
            if late:  # committed within the staleness bound, or really unreadable: ask again, Strong
                fetched.update(self.store.fetch_vectors(late, self.dim))
            for record in batch:
                vectors = fetched.get(record.page_id)
                if vectors is None:
                    self._unreadable.add(record.page_id)
                    self._live.pop(record.page_id, None)
                    continue
                self.lru.put(record.page_id, vectors)
                found[record.page_id] = vectors
        return found

    def _exact(
        self, query: np.ndarray, page_ids: np.ndarray, weights: np.ndarray | None = None
    ) -> np.ndarray:
        """Exact scores of `page_ids` (-inf for a page whose vectors turned out unreadable)."""
        scores = np.full(len(page_ids), -np.inf, dtype=np.float32)
        for start in range(0, len(page_ids), FETCH_PAGES):
            batch = [int(p) for p in page_ids[start : start + FETCH_PAGES]]
            vectors = self._vectors(batch)
            present = [i for i, p in enumerate(batch) if p in vectors]
            if present:
                values = score_pages(query, [vectors[batch[i]] for i in present], weights)
                scores[[start + i for i in present]] = values
        return scores

    def search(
        self,
        query: np.ndarray,
        k: int,
        *,
        exact: bool = False,
        allowed: Iterable[int] | None = None,
        exclude: Iterable[int] = (),
        candidates: int | None = None,
    ) -> list[Scored]:
        self.trace = SearchTrace()
        if not self._live or k <= 0:
            return []
        pool = self._order
        if allowed is not None:
            pool = pool[np.isin(pool, np.fromiter(allowed, dtype=np.int64))]
        excluded = list(exclude)
        if excluded:
            pool = pool[~np.isin(pool, np.asarray(excluded, dtype=np.int64))]
        self.trace.pool = len(pool)
        if len(pool) == 0:
            return []
        budget = max(candidates or self.candidates or auto_candidates(self.page_count), k)
        self.trace.candidates = budget
        ceiling = ADAPTIVE_FACTOR * budget
        if exact or len(pool) <= budget:
            self.trace.exact = len(pool)
            return self._best(pool, self._exact(query, pool), k)
        large = len(query) > LARGE_QUERY
        tokens, weights = centroids_and_sizes(query, QUERY_CENTROIDS) if large else (query, None)
        restrict = pool if allowed is not None and len(pool) <= FILTER_IN_MILVUS_MAX else None
        limit = min(SEARCH_LIMIT_MAX, max(MIN_HITS_PER_TOKEN, HITS_PER_TOKEN_FACTOR * ceiling))
        hits = self.store.search_centroids(tokens, limit, None if restrict is None else restrict.tolist())
        ranked, _ = _estimates(hits, weights, set(pool.tolist()))
        if len(ranked) == 0:
            return []
        # the best of those, re-estimated on all of their centroids (the hits cover only some of them)
        ranked = ranked[:ceiling]
        self.trace.estimated = len(ranked)
        estimates = self._centroid_interaction(tokens, weights, ranked)
        order = np.argsort(-estimates, kind="stable")
        ranked, estimates = ranked[order], estimates[order]
        if large:
            return self._search_large(query, (tokens, weights), ranked[:budget], k)
        scored, scores = widen_exactly(
            estimates, lambda items: self._exact(query, ranked[items]), k, budget, ceiling
        )
        self.trace.exact = scored
        return self._best(ranked[:scored], scores, k)

    def _centroid_interaction(
        self, tokens: np.ndarray, weights: np.ndarray | None, page_ids: np.ndarray
    ) -> np.ndarray:
        """Sum over tokens of each page's best centroid score, on all of its centroid rows."""
        centroids = self.store.fetch_centroids(page_ids.tolist(), self.dim)
        tokens32 = np.asarray(tokens, dtype=np.float32)
        estimates = np.full(len(page_ids), -np.inf, dtype=np.float32)
        for i, page_id in enumerate(page_ids.tolist()):
            rows = centroids.get(page_id)
            if rows is not None and len(rows):
                best = (tokens32 @ rows.T).max(axis=1)
                estimates[i] = best.sum() if weights is None else float(weights @ best)
        return estimates

    def _search_large(
        self, query: np.ndarray, pooled: tuple[np.ndarray, np.ndarray | None], pool: np.ndarray, k: int
    ) -> list[Scored]:
        pool = image_query_finalists(pool, pooled, self._exact, k, LARGE_QUERY_FINALISTS)
        self.trace.exact = len(pool)
        return self._best(pool, self._exact(query, pool), k)

    def _best(self, page_ids: np.ndarray, scores: np.ndarray, k: int) -> list[Scored]:
        order = np.lexsort((page_ids, -scores))
        return [Scored(int(page_ids[i]), float(scores[i])) for i in order[:k] if np.isfinite(scores[i])]


def _estimates(
    hits: list[list[tuple[int, float]]], weights: np.ndarray | None, live: set[int]
) -> tuple[np.ndarray, np.ndarray]:
    """(page ids, estimates), best first, of the live pages among the hits (see the module doc)."""
    pages = sorted({page_id for token in hits for page_id, _ in token if page_id in live})
    if not pages:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    column = {page_id: i for i, page_id in enumerate(pages)}
    best = np.empty((len(hits), len(pages)), dtype=np.float32)
    for t, token in enumerate(hits):
        best[t] = token[-1][1] if token else 0.0  # a page this token missed: its weakest returned score
        for page_id, score in token:
            i = column.get(page_id)
            if i is not None and score > best[t, i]:
                best[t, i] = score
    estimates = best.sum(axis=0) if weights is None else weights @ best
    order = np.argsort(-estimates, kind="stable")
    return np.asarray(pages, dtype=np.int64)[order], estimates[order]
