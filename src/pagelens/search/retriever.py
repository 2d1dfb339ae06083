"""Candidate generation from pooled page centroids, then exact MaxSim on every vector of each candidate.

Brute force over every stored vector is exact but grows with the index (~280 ms per query at 1,000
ColPali pages on 2 cores). Here each page is first scored against its ~32 k-means centroids (~30x fewer
vectors), and only the best `candidates` pages are scored exactly, on all of their vectors, from the
memory-mapped local cache. `exact=True` scores every page exactly.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pagelens.search.cache import COARSE_PER_PAGE, Segment, VectorCache
from pagelens.search.catalog import Catalog
from pagelens.search.maxsim import maxsim_segments, score_pages
from pagelens.search.pooling import CENTROIDS_PER_PAGE, centroids_and_sizes
from pagelens.store.milvus import MilvusStore

log = logging.getLogger(__name__)

DEFAULT_CANDIDATES: int | None = None  # None: auto_candidates(page count)
MIN_CANDIDATES = 64
LARGE_QUERY = 64  # more query vectors than this (an image as the query) are pooled for candidate generation
QUERY_CENTROIDS = 32
LARGE_QUERY_FINALISTS = 24
COARSE_FACTOR = 4  # the coarse level keeps this many times the candidates for the fine level
FETCH_BATCH = 256


@dataclass
class Scored:
    page_id: int
    score: float


class Retriever:
    """Searches the live pages of a catalog, keeping the local cache in step with Milvus."""

    def __init__(
        self, store: MilvusStore, dim: int, cache_dir: Path, candidates: int | None = DEFAULT_CANDIDATES
    ) -> None:
        self.store = store
        self.dim = dim
        self.candidates = candidates
        self.cache = VectorCache(cache_dir, dim)
        self._order = np.empty(0, dtype=np.int64)
        self._where: dict[int, tuple[int, int]] = {}
        self._fine = np.empty((0, CENTROIDS_PER_PAGE, dim), dtype=np.float32)
        self._coarse = np.empty((0, COARSE_PER_PAGE, dim), dtype=np.float32)

    # ---- keeping in step ------------------------------------------------------------------------------
    def add_local(self, page_ids: list[int], pages: list[np.ndarray]) -> None:
        """Pages this process just wrote to Milvus: cache them without fetching them back."""
        self.cache.add(page_ids, pages)

    def sync(self, catalog: Catalog) -> None:
        """Make the searchable set exactly the catalog's pages, fetching from Milvus what the cache lacks."""
        live = {p.page_id for p in catalog.pages}
        cached = set(self.cache.page_ids().tolist())
        missing = [p for p in catalog.pages if p.page_id not in cached]
        for start in range(0, len(missing), FETCH_BATCH):
            batch = missing[start : start + FETCH_BATCH]
            fetched = self.store.fetch_vectors(batch, self.dim)
            if len(fetched) < len(batch):
                log.warning(
                    "%d page(s) have incomplete vectors in Milvus and are skipped", len(batch) - len(fetched)
                )
            ids = list(fetched)
            self.cache.add(ids, [np.asarray(fetched[i]) for i in ids])
        total = sum(len(s.page_ids) for s in self.cache.segments)
        if len(self.cache.segments) > 64 or (total and total > 2 * max(len(live), 1)):
            self.cache.compact(live)
        self._index(live)

    def _index(self, live: set[int]) -> None:
        where: dict[int, tuple[int, int]] = {}
        for s_index, segment in enumerate(self.cache.segments):
            for p_index, page_id in enumerate(segment.page_ids.tolist()):
                if page_id in live:
                    where[page_id] = (s_index, p_index)
        order = np.array(sorted(where), dtype=np.int64)
        fine = np.empty((len(order), CENTROIDS_PER_PAGE, self.dim), dtype=np.float32)
        coarse = np.empty((len(order), COARSE_PER_PAGE, self.dim), dtype=np.float32)
        located = np.array([where[p] for p in order.tolist()], dtype=np.int64).reshape(-1, 2)
        for s_index, segment in enumerate(self.cache.segments):
            targets = np.flatnonzero(located[:, 0] == s_index)
            if len(targets):
                fine[targets] = segment.fine[located[targets, 1]]
                coarse[targets] = segment.coarse[located[targets, 1]]
        self._where = where
        self._order = order
        self._fine = fine
        self._coarse = coarse

    # ---- reading ----------------------------------------------------------------------------------------
    @property
    def page_count(self) -> int:
        return len(self._order)

    def vectors_of(self, page_id: int) -> np.ndarray:
        s_index, p_index = self._where[page_id]
        return np.asarray(self.cache.segments[s_index].page_vectors(p_index))

    def _exact(
        self, query: np.ndarray, page_ids: np.ndarray, weights: np.ndarray | None = None
    ) -> np.ndarray:
        """Exact MaxSim of `page_ids`, gathering pages segment by segment."""
        scores = np.empty(len(page_ids), dtype=np.float32)
        by_segment: dict[int, list[tuple[int, int]]] = {}
        for position, page_id in enumerate(page_ids.tolist()):
            s_index, p_index = self._where[page_id]
            by_segment.setdefault(s_index, []).append((position, p_index))
        for s_index, items in by_segment.items():
            segment = self.cache.segments[s_index]
            scores[[pos for pos, _ in items]] = _score_in_segment(
                query, segment, [p for _, p in items], weights
            )
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
        """Best `k` live pages for `query` (q, dim), best first. `allowed` restricts to those page ids."""
        if self.page_count == 0 or k <= 0:
            return []
        mask = np.ones(self.page_count, dtype=bool)
        if allowed is not None:
            mask &= np.isin(self._order, np.fromiter(allowed, dtype=np.int64))
        excluded = list(exclude)
        if excluded:
            mask &= ~np.isin(self._order, np.asarray(excluded, dtype=np.int64))
        pool = np.flatnonzero(mask)
        if len(pool) == 0:
            return []
        budget = max(candidates or self.candidates or auto_candidates(self.page_count), k)
        pooled = None if exact or len(query) <= LARGE_QUERY else centroids_and_sizes(query, QUERY_CENTROIDS)
        if not exact and len(pool) > 2 * budget:  # a small pool is cheaper to score exactly than to prune
            rough_query, weights = (query, None) if pooled is None else pooled
            if len(pool) > COARSE_FACTOR * budget:  # first cut on 8 centroids a page
                scores = _level_scores(self._coarse, pool, rough_query, weights, len(pool) < self.page_count)
                pool = pool[np.argpartition(-scores, COARSE_FACTOR * budget - 1)[: COARSE_FACTOR * budget]]
            scores = _level_scores(self._fine, pool, rough_query, weights, True)
            pool = pool[np.argpartition(-scores, budget - 1)[:budget]]
        if pooled is not None:
            # an image query has hundreds of vectors: narrow the candidates with its weighted centroids
            # scored on the candidates' full vectors, then score the survivors exactly with the full query
            keep = max(LARGE_QUERY_FINALISTS, 2 * k)
            if len(pool) > keep:
                approx = self._exact(pooled[0], self._order[pool], pooled[1])
                pool = pool[np.argpartition(-approx, keep - 1)[:keep]]
        page_ids = self._order[pool]
        scores = self._exact(query, page_ids)
        best = np.lexsort((page_ids, -scores))[:k]  # ties broken by page id, so results are stable
        return [Scored(int(page_ids[i]), float(scores[i])) for i in best]


def auto_candidates(pages: int) -> int:
    """Pages scored exactly by default: about the square root of the index size, at least MIN_CANDIDATES
    (measured in bench/search_bench.py: recall@10 0.992 at 1,000 pages with 48, 1.000 with 100)."""
    return max(MIN_CANDIDATES, int(round(pages**0.5)))


def _level_scores(
    level: np.ndarray, pool: np.ndarray, query: np.ndarray, weights: np.ndarray | None, gather: bool
) -> np.ndarray:
    """Approximate MaxSim of the `pool` pages against one level of centroids, (pages, m, dim)."""
    rows = level[pool] if gather else level  # no copy when every page is in the pool, in order
    pages, per_page, dim = rows.shape
    sims = np.asarray(query, dtype=np.float32) @ rows.reshape(pages * per_page, dim).T  # (q, pages*m)
    best = sims.reshape(len(query), pages, per_page).max(axis=2)  # (q, pages)
    return best.sum(axis=0) if weights is None else weights @ best


def _score_in_segment(
    query: np.ndarray, segment: Segment, indices: list[int], weights: np.ndarray | None = None
) -> np.ndarray:
    if sorted(indices) == list(range(len(segment.page_ids))):  # the whole segment: no gathering copy
        return maxsim_segments(query, segment.vectors, segment.offsets, weights)[indices]
    return score_pages(query, [segment.page_vectors(i) for i in indices], weights)
