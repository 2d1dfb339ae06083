"""Exact late-interaction scoring: MaxSim(q, p) = sum over query vectors of the best dot product with p.

Equal to colpali-engine's `score_multi_vector` on the same vectors (tests check it). Works on float16 or
float32 page vectors; always computes in float32 (numpy's float16 matmul is ~100x slower).
"""

from __future__ import annotations

import numpy as np

# Rows of page vectors multiplied at once: bounds the (rows x query) similarity block in memory.
BLOCK_ROWS = 1 << 19


def maxsim(query: np.ndarray, page: np.ndarray) -> float:
    """Score one page: query (q, d), page (n, d)."""
    sims = np.asarray(page, dtype=np.float32) @ np.asarray(query, dtype=np.float32).T
    return float(sims.max(axis=0).sum())


def maxsim_segments(
    query: np.ndarray, vectors: np.ndarray, offsets: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Scores of consecutive pages: page i is vectors[offsets[i]:offsets[i+1]] (every page non-empty).
    `weights` (one per query vector) turns the sum over query vectors into a weighted sum."""
    query32 = np.asarray(query, dtype=np.float32)
    count = len(offsets) - 1
    scores = np.empty(count, dtype=np.float32)
    if count == 0:
        return scores
    first = 0
    while first < count:
        # take as many whole pages as fit in one block
        limit = offsets[first] + BLOCK_ROWS
        last = max(first + 1, int(np.searchsorted(offsets, limit, side="right")) - 1)
        last = min(last, count)
        lo, hi = int(offsets[first]), int(offsets[last])
        block = np.asarray(vectors[lo:hi], dtype=np.float32) @ query32.T
        starts = (offsets[first:last] - lo).astype(np.intp)
        best = np.maximum.reduceat(block, starts, axis=0)
        scores[first:last] = best.sum(axis=1) if weights is None else best @ weights
        first = last
    return scores


def score_pages(query: np.ndarray, pages: list[np.ndarray], weights: np.ndarray | None = None) -> np.ndarray:
    """Scores of a list of (n_i, d) pages."""
    if not pages:
        return np.empty(0, dtype=np.float32)
    offsets = np.zeros(len(pages) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in pages], out=offsets[1:])
    return maxsim_segments(query, np.concatenate(pages), offsets, weights)
