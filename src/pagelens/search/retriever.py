"""Candidate generation from per-page centroids, then exact MaxSim on every stored vector of each candidate.

Brute force over every stored vector is exact but grows with the index. Here:
1. **coarse**: every page is scored against its COARSE_PER_PAGE centroids (in RAM, 4 KB a page), and only
   the best few thousand pages go on (skipped while the index is small);
2. **fine**: those are re-estimated on their CENTROIDS_PER_PAGE centroids (memory-mapped, read on demand);
3. **exact, adaptive** (adaptive.py): pages are scored exactly, in order of their estimate, `candidates`
   first, then more while an unscored page could still reach the top k (up to ADAPTIVE_FACTOR x candidates).
   Returned scores and their order are always exact MaxSim over the stored vectors; only which pages reach the
   exact stage is approximate. `exact=True` scores every page.
Page vectors are read from disk for the pages scored exactly (see cache.py and store/vector_files.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from pagelens.errors import StoreError
from pagelens.search.adaptive import image_query_finalists, widen_exactly
from pagelens.search.cache import COARSE_PER_PAGE, CacheIdentity, Segment, VectorCache
from pagelens.search.catalog import Catalog
from pagelens.search.maxsim import maxsim_bfloat16
from pagelens.search.pooling import CENTROIDS_PER_PAGE, centroids_and_sizes
from pagelens.store import bfloat16
from pagelens.store.milvus import MilvusStore
from pagelens.store.records import PageRecord
from pagelens.store.vector_files import VectorRef

log = logging.getLogger(__name__)

DEFAULT_CANDIDATES: int | None = None  # None: auto_candidates(page count)
MIN_CANDIDATES = 64
# The exact stage may grow to ADAPTIVE_FACTOR times the candidates; the coarse level keeps COARSE_FACTOR times
# that ceiling for the fine level. Measured at 10,000 pages of real text token vectors (bench/generators/
# minilm_text.py, 30 queries, recall@10 against exact): 8 and 2 gave 0.890 (worst query 0.4); 16 and 4 gave
# 0.963 (0.7) for ~1.7x the exact work; 32 and 2, 0.977 (0.8) for ~2.6x. On the structured and synthetic
# distributions the widening rule stops long before either ceiling.
ADAPTIVE_FACTOR = 16
COARSE_FACTOR = 4
LARGE_QUERY = 64  # more query vectors than this (an image as the query) are pooled for candidate generation
QUERY_CENTROIDS = 32
LARGE_QUERY_FINALISTS = 24
FETCH_BATCH = 256
READ_BATCH = 128  # pages whose vectors are read and scored together in the exact stage


@dataclass
class Scored:
    page_id: int
    score: float


@dataclass
class SearchTrace:
    """What the last search did (for benchmarks and tests): pages in the pool, pages scored exactly."""

    pool: int = 0
    estimated: int = 0
    exact: int = 0


class Retriever:
    """Searches the live pages of a catalog, keeping the local cache in step with Milvus."""

    def __init__(
        self,
        store: MilvusStore,
        identity: CacheIdentity,
        cache_dir: Path,
        candidates: int | None = DEFAULT_CANDIDATES,
    ) -> None:
        self.store = store
        self.dim = identity.dim
        self.candidates = candidates
        self.cache = VectorCache(
            cache_dir, identity, store.vector_files() if store.keeps_vector_files else None
        )
        self.trace = SearchTrace()
        self._order = np.empty(0, dtype=np.int64)
        self._located = np.empty((0, 2), dtype=np.int64)  # (segment, row) of each page in _order
        self._coarse = np.empty((0, COARSE_PER_PAGE, self.dim), dtype=np.float32)

    # ---- keeping in step ------------------------------------------------------------------------------
    def add_local(self, pages: list[PageRecord], vectors: list[np.ndarray]) -> None:
        """Pages this process just wrote to Milvus: cache them without reading them back."""
        refs = self._refs_of(pages)
        self.cache.add([p.page_id for p in pages], vectors, refs)

    def _refs_of(self, pages: list[PageRecord]) -> list[VectorRef] | None:
        """Where the store keeps these pages' vectors (Milvus Lite); None when the cache copies them."""
        if not self.store.keeps_vector_files:
            return None
        refs = [VectorRef.decode(p.vectors_ref) for p in pages]
        if any(r is None for r in refs):
            raise StoreError("a page was written without its vectors' location")
        return [r for r in refs if r is not None]

    def sync(self, catalog: Catalog) -> None:
        """Make the searchable set exactly the catalog's pages whose vectors are readable, fetching from Milvus
        what the cache lacks. A cached page whose vectors moved (another location on record) is re-cached."""
        wanted = {p.page_id: p for p in catalog.pages}
        valid, moved = self._valid(wanted)
        changed = False  # whether pages were fetched into the cache after `valid` was read
        if moved:  # the same vectors at another place (the store compacted its files): keep the centroids
            records = [wanted[page_id] for page_id in moved]
            levels = [self._levels(*moved[r.page_id]) for r in records]
            refs = self._refs_of(records)
            self.cache.add([r.page_id for r in records], [], refs, levels)
            valid, _ = self._valid(wanted)
        missing = [p for p in catalog.pages if p.page_id not in valid]
        for start in range(0, len(missing), FETCH_BATCH):
            batch = missing[start : start + FETCH_BATCH]
            fetched = self.store.fetch_vectors(batch, self.dim)
            if len(fetched) < len(batch):
                log.warning(
                    "%d page(s) have unreadable or incomplete vectors and are not searchable",
                    len(batch) - len(fetched),
                )
            present = [p for p in batch if p.page_id in fetched]
            self.cache.add(
                [p.page_id for p in present], [fetched[p.page_id] for p in present], self._refs_of(present)
            )
            changed = changed or bool(present)
        if changed:
            valid, _ = self._valid(wanted)
        total = sum(len(s.page_ids) for s in self.cache.segments)
        if len(self.cache.segments) > 64 or (total and total > 2 * max(len(wanted), 1)):
            self.cache.compact(valid)
            valid, _ = self._valid(wanted)  # compaction renumbers segments and rows
        self._index(valid)

    def _valid(
        self, wanted: dict[int, PageRecord]
    ) -> tuple[dict[int, tuple[int, int]], dict[int, tuple[int, int]]]:
        """page id -> (segment, row) of the cached copy of each wanted page (the last one that matches), and
        of the wanted pages cached only with another location of their vectors (Milvus Lite)."""
        check_refs = self.store.keeps_vector_files
        where: dict[int, tuple[int, int]] = {}
        elsewhere: dict[int, tuple[int, int]] = {}
        for s_index, segment in enumerate(self.cache.segments):
            for p_index, page_id in enumerate(segment.page_ids.tolist()):
                record = wanted.get(page_id)
                if record is None:
                    continue
                if check_refs and segment.ref(p_index).encode() != record.vectors_ref:
                    elsewhere[page_id] = (s_index, p_index)
                    continue
                where[page_id] = (s_index, p_index)
        return where, {p: place for p, place in elsewhere.items() if p not in where}

    def _levels(self, s_index: int, p_index: int) -> tuple[np.ndarray, np.ndarray]:
        segment = self.cache.segments[s_index]
        return bfloat16.decode(segment.fine[p_index]), np.array(segment.coarse[p_index])

    def _index(self, where: dict[int, tuple[int, int]]) -> None:
        order = np.array(sorted(where), dtype=np.int64)
        located = np.array([where[p] for p in order.tolist()], dtype=np.int64).reshape(-1, 2)
        coarse = np.empty((len(order), COARSE_PER_PAGE, self.dim), dtype=np.float32)
        for s_index, segment in enumerate(self.cache.segments):
            targets = np.flatnonzero(located[:, 0] == s_index)
            if len(targets):
                coarse[targets] = segment.coarse[located[targets, 1]]
        self._order = order
        self._located = located
        self._coarse = coarse
        self._position = {int(p): i for i, p in enumerate(order.tolist())}

    def close(self) -> None:
        self.cache.close()

    # ---- reading ----------------------------------------------------------------------------------------
    @property
    def page_count(self) -> int:
        return len(self._order)

    def __contains__(self, page_id: int) -> bool:
        return page_id in self._position

    def _segment_of(self, position: int) -> tuple[Segment, int]:
        s_index, p_index = self._located[position]
        return self.cache.segments[int(s_index)], int(p_index)

    def vectors_of(self, page_id: int) -> np.ndarray:
        """The stored vectors of a searchable page, float32 (KeyError for any other page)."""
        segment, row = self._segment_of(self._position[page_id])
        return self._read(partial(self.cache.vectors.read, segment.ref(row)))

    def _read(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except (OSError, ValueError) as exc:
            raise StoreError(
                f"page vectors in {self.cache.vectors.folder} cannot be read ({exc}); "
                "the index folder was changed outside pagelens"
            ) from exc

    def _exact(
        self, query: np.ndarray, positions: np.ndarray, weights: np.ndarray | None = None
    ) -> np.ndarray:
        """Exact MaxSim of the pages at `positions`, reading their vectors in batches."""
        scores = np.empty(len(positions), dtype=np.float32)
        for first in range(0, len(positions), READ_BATCH):
            batch = positions[first : first + READ_BATCH]
            refs = [segment.ref(row) for segment, row in (self._segment_of(int(p)) for p in batch)]
            bits, offsets = self._read(partial(self.cache.vectors.gather_bits, refs))
            scores[first : first + len(batch)] = maxsim_bfloat16(query, bits, offsets, weights)
        return scores

    def _fine(self, positions: np.ndarray) -> np.ndarray:
        """(len(positions), CENTROIDS_PER_PAGE, dim) float32 fine centroids, read from the segments."""
        out = np.empty((len(positions), CENTROIDS_PER_PAGE, self.dim), dtype=np.float32)
        located = self._located[positions]
        for s_index in np.unique(located[:, 0]).tolist():
            targets = np.flatnonzero(located[:, 0] == s_index)
            rows = located[targets, 1]
            order = np.argsort(rows)  # read the memory map in file order
            bits = self.cache.segments[s_index].fine[rows[order]]
            out[targets[order]] = bfloat16.decode(bits)
        return out

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
        """Best `k` searchable pages for `query` (q, dim), best first. `allowed` restricts to those page ids."""
        self.trace = SearchTrace()
        if self.page_count == 0 or k <= 0:
            return []
        mask = np.ones(self.page_count, dtype=bool)
        if allowed is not None:
            mask &= np.isin(self._order, np.fromiter(allowed, dtype=np.int64))
        excluded = list(exclude)
        if excluded:
            mask &= ~np.isin(self._order, np.asarray(excluded, dtype=np.int64))
        pool = np.flatnonzero(mask)
        self.trace.pool = len(pool)
        if len(pool) == 0:
            return []
        budget = max(candidates or self.candidates or auto_candidates(self.page_count), k)
        ceiling = ADAPTIVE_FACTOR * budget
        pooled = None if exact or len(query) <= LARGE_QUERY else centroids_and_sizes(query, QUERY_CENTROIDS)
        if exact or len(pool) <= budget:
            scores = self._exact(query, pool)
            self.trace.exact = len(pool)
            return self._best(pool, scores, k)
        rough_query, weights = (query, None) if pooled is None else pooled
        if len(pool) > COARSE_FACTOR * ceiling:  # first cut on the coarse centroids held in RAM
            keep = COARSE_FACTOR * ceiling
            scores = _level_scores(self._coarse, pool, rough_query, weights, len(pool) < self.page_count)
            pool = pool[np.argpartition(-scores, keep - 1)[:keep]]
        fine = _level_scores(self._fine(pool), None, rough_query, weights, False)
        self.trace.estimated = len(pool)
        ranked = np.argsort(-fine, kind="stable")
        pool, estimates = pool[ranked], fine[ranked]
        if pooled is not None:
            return self._search_large(query, pooled, pool[:budget], k)
        return self._adaptive(query, pool, estimates, k, budget, ceiling)

    def _adaptive(
        self, query: np.ndarray, ranked: np.ndarray, estimates: np.ndarray, k: int, budget: int, ceiling: int
    ) -> list[Scored]:
        """Exact scores for the best-estimated pages, widening while an unscored one could still enter."""
        scored, scores = widen_exactly(
            estimates, lambda items: self._exact(query, ranked[items]), k, budget, ceiling
        )
        self.trace.exact = scored
        return self._best(ranked[:scored], scores, k)

    def _search_large(
        self, query: np.ndarray, pooled: tuple[np.ndarray, np.ndarray | None], pool: np.ndarray, k: int
    ) -> list[Scored]:
        pool = image_query_finalists(pool, pooled, self._exact, k, LARGE_QUERY_FINALISTS)
        self.trace.exact = len(pool)
        return self._best(pool, self._exact(query, pool), k)

    def _best(self, positions: np.ndarray, scores: np.ndarray, k: int) -> list[Scored]:
        page_ids = self._order[positions]
        best = np.lexsort((page_ids, -scores))[:k]  # ties broken by page id, so results are stable
        return [Scored(int(page_ids[i]), float(scores[i])) for i in best]


def auto_candidates(pages: int) -> int:
    """Pages scored exactly before the adaptive stage decides whether more are needed: about the square
    root of the index size, at least MIN_CANDIDATES."""
    return max(MIN_CANDIDATES, int(round(pages**0.5)))


def _level_scores(
    level: np.ndarray, pool: np.ndarray | None, query: np.ndarray, weights: np.ndarray | None, gather: bool
) -> np.ndarray:
    """Approximate MaxSim of the `pool` pages against one level of centroids, (pages, m, dim)."""
    rows = level[pool] if gather and pool is not None else level  # no copy when every page is in the pool
    pages, per_page, dim = rows.shape
    sims = np.asarray(query, dtype=np.float32) @ rows.reshape(pages * per_page, dim).T  # (q, pages*m)
    best = sims.reshape(len(query), pages, per_page).max(axis=2)  # (q, pages)
    return best.sum(axis=0) if weights is None else weights @ best
