"""Exact late-interaction scoring: MaxSim(q, p) = sum over query vectors of the best dot product with p.

Equal to colpali-engine's `score_multi_vector` on the same vectors (tests check it). Works on float16 or
float32 page vectors; always computes in float32 (numpy's float16 matmul is ~100x slower).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pagelens.store import bfloat16

# Rows of page vectors widened and multiplied at once: small enough that a block (float32 rows and their
# similarities) stays in the CPU cache between the widening, the matmul and the max. Measured on the 2-core dev
# VM (128 pages of 1,030 x 128): 0.45 ms a page in blocks of ~8 pages against 1.17 ms for one 67 MB block
# widened whole and reduced with `np.maximum.reduceat`.
BLOCK_ROWS = 8192


def maxsim(query: np.ndarray, page: np.ndarray) -> float:
    """Score one page: query (q, d), page (n, d)."""
    sims = np.asarray(page, dtype=np.float32) @ np.asarray(query, dtype=np.float32).T
    return float(sims.max(axis=0).sum())


def maxsim_segments(
    query: np.ndarray, vectors: np.ndarray, offsets: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Scores of consecutive pages: page i is vectors[offsets[i]:offsets[i+1]] (every page non-empty).
    `weights` (one per query vector) turns the sum over query vectors into a weighted sum."""
    return _blocked(query, vectors, offsets, weights, None)


def maxsim_bfloat16(
    query: np.ndarray, bits: np.ndarray, offsets: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """`maxsim_segments` over stored bfloat16 bits (uint16, store/bfloat16.py), widened block by block: the
    same float32 scores as widening everything first, without a float32 copy of every page."""
    return _blocked(query, bits, offsets, weights, bfloat16.decode)


def _blocked(
    query: np.ndarray,
    vectors: np.ndarray,
    offsets: np.ndarray,
    weights: np.ndarray | None,
    widen: Callable[[np.ndarray, np.ndarray], np.ndarray] | None,
) -> np.ndarray:
    query_t = np.ascontiguousarray(np.asarray(query, dtype=np.float32).T)
    count = len(offsets) - 1
    scores = np.empty(count, dtype=np.float32)
    if count == 0:
        return scores
    lengths = np.diff(offsets)
    rows = int(min(max(BLOCK_ROWS, int(lengths.max())), int(offsets[-1])))
    wide = np.empty((rows, vectors.shape[1]), dtype=np.float32) if widen is not None else None
    sims = np.empty((rows, query_t.shape[1]), dtype=np.float32)
    first = 0
    while first < count:
        # as many whole pages as fit in one block (at least one)
        limit = offsets[first] + rows
        last = min(max(first + 1, int(np.searchsorted(offsets, limit, side="right")) - 1), count)
        lo, hi = int(offsets[first]), int(offsets[last])
        if wide is not None and widen is not None:
            block = widen(vectors[lo:hi], wide[: hi - lo])
        else:
            block = np.asarray(vectors[lo:hi], dtype=np.float32)
        block_sims = np.matmul(block, query_t, out=sims[: hi - lo])
        best = _page_maxima(block_sims, lengths[first:last])
        scores[first:last] = best.sum(axis=1) if weights is None else best @ weights
        first = last
    return scores


def _page_maxima(sims: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(pages, q): each page's best similarity per query vector; its rows are consecutive in `sims`."""
    if np.all(lengths == lengths[0]):
        return sims.reshape(len(lengths), int(lengths[0]), sims.shape[1]).max(axis=1)
    best = np.empty((len(lengths), sims.shape[1]), dtype=np.float32)
    start = 0
    for page, length in enumerate(lengths.tolist()):
        best[page] = sims[start : start + length].max(axis=0)
        start += length
    return best


def score_pages(query: np.ndarray, pages: list[np.ndarray], weights: np.ndarray | None = None) -> np.ndarray:
    """Scores of a list of (n_i, d) pages."""
    if not pages:
        return np.empty(0, dtype=np.float32)
    offsets = np.zeros(len(pages) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in pages], out=offsets[1:])
    return maxsim_segments(query, np.concatenate(pages), offsets, weights)
