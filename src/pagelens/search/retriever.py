"""Candidate generation from every stored vector's code, then exact MaxSim on the candidates' stored vectors.

Brute force over every stored vector is exact but grows with the index. Here:
1. **token hits** (token_index.py): each query vector's `hits` nearest stored vectors, found in a faiss IVF-PQ
   index of every cached vector's 32-byte code (at 128-d; in RAM), name the candidate pages. A page's estimate is the
   sum over query vectors of its best hit, or, for a query vector whose hits miss the page,
   MISSED_SHARE x that query vector's weakest hit (the page's best match there is at most about that);
2. **exact, adaptive** (adaptive.py): candidates are scored exactly in order of their estimate, `candidates`
   first, then more while an unscored page could still reach the top k (up to ADAPTIVE_FACTOR x candidates).
   Returned scores and their order are always exact MaxSim over the stored vectors; only which pages reach the
   exact stage is approximate. `exact=True` scores every page, and so does any search of an index too small
   to have a codebook (cache.py) or of a pool no larger than `candidates`.
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
from pagelens.search.cache import CacheIdentity, Segment, VectorCache
from pagelens.search.catalog import Catalog
from pagelens.search.maxsim import maxsim_read
from pagelens.search.pooling import centroids_and_sizes
from pagelens.search.token_index import TokenIndex, load_index
from pagelens.store.milvus import MilvusStore
from pagelens.store.records import PageRecord
from pagelens.store.vector_files import VectorRef

log = logging.getLogger(__name__)

DEFAULT_CANDIDATES: int | None = None  # None: auto_candidates(page count)
MIN_CANDIDATES = 64
# The exact stage may grow to ADAPTIVE_FACTOR times the candidates; it stops once the next page's estimate plus
# the ERROR_QUANTILE quantile (and the standard deviation) of the underestimates seen so far is below the k-th
# exact score. Measured at 10,000 pages (bench/README.md, two distributions): the largest underestimate, with
# token-hit estimates, sends most queries to the ceiling; its 0.99 quantile held recall 1.000.
ADAPTIVE_FACTOR = 16
ERROR_QUANTILE = 0.99
MISSED_SHARE = 0.9
HITS_PER_TOKEN_MIN, HITS_PER_TOKEN_MAX = 1024, 2048  # within these, the exact stage's ceiling
LARGE_QUERY = 64  # more query vectors than this (an image as the query) are pooled for candidate generation
QUERY_CENTROIDS = 32
LARGE_QUERY_FINALISTS = 24
# an image query's candidates: this many times `candidates` by estimate (1,000 pages, `similar` on 8 stored pages:
# recall 0.96-0.98 with 1x, 0.99-1.00 with 4x, for ~45 ms more; bench/README.md)
LARGE_QUERY_POOL = 4
FETCH_BATCH = 256
MAX_TOKEN_BATCHES = 4  # batches of new segments added to the token index before it is rebuilt whole


@dataclass
class Scored:
    page_id: int
    score: float


@dataclass
class SearchTrace:
    """What the last search did (for benchmarks and tests): pages in the pool, the candidates asked for (the
    exact stage's first batch), pages given an estimate, pages scored exactly."""

    pool: int = 0
    candidates: int = 0
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
        self._position: dict[int, int] = {}
        self._tokens: TokenIndex | None = None
        self._merged: list[str] = []  # the segments whose codes _tokens holds, in order

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
        if moved:  # the same vectors at another place (the store compacted its files)
            records = [wanted[page_id] for page_id in moved]
            self.cache.add([r.page_id for r in records], [], self._refs_of(records))
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
        self.cache.maintain_codebook(len(valid))
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

    def _index(self, where: dict[int, tuple[int, int]]) -> None:
        order = np.array(sorted(where), dtype=np.int64)
        self._located = np.array([where[p] for p in order.tolist()], dtype=np.int64).reshape(-1, 2)
        self._order = order
        self._position = {int(p): i for i, p in enumerate(order.tolist())}

    def _token_index(self) -> TokenIndex | None:
        """The in-RAM token index over every cached segment's codes (None while there is no codebook),
        brought up to date: new segments become a new part; anything else (compaction, a new codebook, more
        than MAX_TOKEN_BATCHES batches) rebuilds it whole."""
        codebook = self.cache.codebook
        if codebook is None:
            self._tokens, self._merged = None, []
            return None
        names = [s.name for s in self.cache.segments]
        tokens = self._tokens
        if (
            tokens is None
            or tokens.codebook.id != codebook.id
            or names[: len(self._merged)] != self._merged
            or (len(names) > len(self._merged) and tokens.batches >= MAX_TOKEN_BATCHES)
        ):
            self._tokens = None  # let the old codes go before the new ones are loaded
            tokens, self._merged = TokenIndex(codebook), []
        new = self.cache.segments[len(self._merged) :]
        if new:
            found = [self.cache.tokens_paths(segment) for segment in new]
            if any(paths is None for paths in found):  # left by an interrupted encoding
                self.cache.maintain_codebook(self.page_count)
                return self._token_index()
            # one chunk of codes loaded at a time: merged into a part, then dropped
            chunks = [path for paths in found for path in paths or []]
            tokens.add_part(self._read(partial(load_index, path)) for path in chunks)
            self._merged.extend(segment.name for segment in new)
        self._tokens = tokens
        return tokens

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
        except (OSError, ValueError, RuntimeError) as exc:
            raise StoreError(
                f"the search data in {self.cache.vectors.folder.parent} cannot be read ({exc}); "
                "the index folder was changed outside pagelens"
            ) from exc

    def _exact(
        self, query: np.ndarray, positions: np.ndarray, weights: np.ndarray | None = None
    ) -> np.ndarray:
        """Exact MaxSim of the pages at `positions`, read from disk in file order, a block at a time."""
        refs = [segment.ref(row) for segment, row in (self._segment_of(int(p)) for p in positions)]
        order = sorted(range(len(refs)), key=lambda i: (refs[i].file, refs[i].row))
        in_order = [refs[i] for i in order]
        offsets = np.zeros(len(refs) + 1, dtype=np.int64)
        np.cumsum([r.rows for r in in_order], out=offsets[1:])
        vectors = self.cache.vectors

        def read(first: int, last: int, out: np.ndarray) -> None:
            vectors.read_pages_into(in_order[first:last], out)

        scores = np.empty(len(refs), dtype=np.float32)
        scores[order] = self._read(partial(maxsim_read, query, offsets, self.dim, read, weights))
        return scores

    def _estimates(
        self,
        tokens: TokenIndex,
        query: np.ndarray,
        weights: np.ndarray | None,
        hits: int,
        mask: np.ndarray,
        filtered: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(positions, estimates) of the candidate pages among `mask`, best estimate first."""
        allowed = self._order[mask] if filtered else None
        scores, ids = tokens.search(query, hits, allowed)
        found = ids >= 0
        positions = np.searchsorted(self._order, np.where(found, ids, 0))
        positions = np.minimum(positions, len(self._order) - 1)
        found &= self._order[positions] == ids  # drop codes of pages no longer live
        found &= mask[positions]
        floors = np.where(found, scores, np.inf).min(axis=1)  # each query vector's weakest live hit
        floors = np.where(np.isfinite(floors), floors, 0.0).astype(np.float32)
        rows, columns = np.nonzero(found)
        candidates, slot = np.unique(positions[rows, columns], return_inverse=True)
        best = np.full((len(query), len(candidates)), -np.inf, dtype=np.float32)
        np.maximum.at(best, (rows, slot), scores[rows, columns])
        best = np.where(np.isfinite(best), best, MISSED_SHARE * floors[:, None])
        estimates = best.sum(axis=0) if weights is None else weights @ best
        ranked = np.argsort(-estimates, kind="stable")
        return candidates[ranked], estimates[ranked].astype(np.float32)

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
        filtered = allowed is not None
        excluded = list(exclude)
        if excluded:
            mask &= ~np.isin(self._order, np.asarray(excluded, dtype=np.int64))
        pool = np.flatnonzero(mask)
        self.trace.pool = len(pool)
        if len(pool) == 0:
            return []
        budget = max(candidates or self.candidates or auto_candidates(self.page_count), k)
        self.trace.candidates = budget
        ceiling = ADAPTIVE_FACTOR * budget
        tokens = None if exact or len(pool) <= budget else self._token_index()
        if tokens is None:
            scores = self._exact(query, pool)
            self.trace.exact = len(pool)
            return self._best(pool, scores, k)
        pooled = None if len(query) <= LARGE_QUERY else centroids_and_sizes(query, QUERY_CENTROIDS)
        rough_query, weights = (query, None) if pooled is None else pooled
        hits = min(max(ceiling, HITS_PER_TOKEN_MIN), HITS_PER_TOKEN_MAX)
        ranked, estimates = self._estimates(tokens, rough_query, weights, hits, mask, filtered)
        self.trace.estimated = len(ranked)
        if len(ranked) < min(k, len(pool)):  # the hits name too few pages: fall back on scoring all
            scores = self._exact(query, pool)
            self.trace.exact = len(pool)
            return self._best(pool, scores, k)
        if pooled is not None:
            return self._search_large(query, pooled, ranked[: LARGE_QUERY_POOL * budget], k)
        return self._adaptive(query, ranked, estimates, k, budget, ceiling)

    def _adaptive(
        self, query: np.ndarray, ranked: np.ndarray, estimates: np.ndarray, k: int, budget: int, ceiling: int
    ) -> list[Scored]:
        """Exact scores for the best-estimated pages, widening while an unscored one could still enter."""
        scored, scores = widen_exactly(
            estimates,
            lambda items: self._exact(query, ranked[items]),
            k,
            budget,
            ceiling,
            error_quantile=ERROR_QUANTILE,
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
