"""Exact late-interaction scoring: MaxSim(q, p) = sum over query vectors of the best dot product with p.

Equal to colpali-engine's `score_multi_vector` on the same vectors (tests check it). Works on float16 or
float32 page vectors; always computes in float32 (numpy's float16 matmul is ~100x slower). Stored bfloat16
pages read from disk are scored with torch (imported on first use), the rest with numpy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pagelens.store import bfloat16

# Rows of page vectors read, widened and multiplied at once: small enough that a block (its bfloat16 bits, float32
# rows and their similarities) stays in the CPU cache between the read, the widening, the matmul and the max.
# Measured on the 2-core dev VM (256 pages of ~630-790 x 128 read from the page cache, 10- and 68-vector queries):
# 78 / 194 us a page reading and scoring blocks of ~2,048 rows, against 116 / 224 us reading all pages first
# and then scoring them in blocks of 8,192 rows; widening and multiplying with torch (MKL) instead of numpy
# (OpenBLAS): 61-66 / 125-174 us, the same scores.
BLOCK_ROWS = 2048

# block(first, last, lo, hi) -> the similarities (hi - lo, q) of rows lo..hi (pages first..last-1)
Block = Callable[[int, int, int, int], np.ndarray]


def maxsim(query: np.ndarray, page: np.ndarray) -> float:
    """Score one page: query (q, d), page (n, d)."""
    sims = np.asarray(page, dtype=np.float32) @ np.asarray(query, dtype=np.float32).T
    return float(sims.max(axis=0).sum())


def maxsim_segments(
    query: np.ndarray, vectors: np.ndarray, offsets: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Scores of consecutive pages: page i is vectors[offsets[i]:offsets[i+1]] (every page non-empty).
    `weights` (one per query vector) turns the sum over query vectors into a weighted sum."""
    query_t = np.ascontiguousarray(np.asarray(query, dtype=np.float32).T)
    sims = np.empty((_block_rows(offsets), query_t.shape[1]), dtype=np.float32)

    def block(first: int, last: int, lo: int, hi: int) -> np.ndarray:
        return np.matmul(np.asarray(vectors[lo:hi], dtype=np.float32), query_t, out=sims[: hi - lo])

    return _blocked(offsets, weights, block)


def maxsim_read(
    query: np.ndarray,
    offsets: np.ndarray,
    dim: int,
    read: Callable[[int, int, np.ndarray], None],
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """`maxsim_segments` of pages stored as bfloat16 bits (uint16, store/bfloat16.py), read, widened and scored
    block by block: `read(first, last, out)` writes the bits of pages first..last-1 into `out` (their rows,
    one after another). Only one block is ever held; the scores are float32 MaxSim over the stored values."""
    import torch

    rows = _block_rows(offsets)
    bits = np.empty((rows, dim), dtype=bfloat16.STORED)
    stored = torch.from_numpy(bits).view(torch.bfloat16)  # the same bytes: bfloat16 is float32's top half
    wide = torch.empty((rows, dim), dtype=torch.float32)
    query_t = torch.from_numpy(np.ascontiguousarray(np.asarray(query, dtype=np.float32).T))
    sims = torch.empty((rows, query_t.shape[1]), dtype=torch.float32)
    sims_array = sims.numpy()

    def block(first: int, last: int, lo: int, hi: int) -> np.ndarray:
        read(first, last, bits[: hi - lo])
        wide[: hi - lo].copy_(stored[: hi - lo])
        torch.mm(wide[: hi - lo], query_t, out=sims[: hi - lo])
        return sims_array[: hi - lo]

    return _blocked(offsets, weights, block)


def _block_rows(offsets: np.ndarray) -> int:
    """Rows in a block: BLOCK_ROWS, or one whole page where a page is longer, or all rows where fewer."""
    if len(offsets) < 2:
        return 0
    return int(min(max(BLOCK_ROWS, int(np.diff(offsets).max())), int(offsets[-1])))


def _blocked(offsets: np.ndarray, weights: np.ndarray | None, block: Block) -> np.ndarray:
    count = len(offsets) - 1
    scores = np.empty(count, dtype=np.float32)
    if count == 0:
        return scores
    lengths = np.diff(offsets)
    rows = _block_rows(offsets)
    first = 0
    while first < count:
        # as many whole pages as fit in one block (at least one)
        limit = offsets[first] + rows
        last = min(max(first + 1, int(np.searchsorted(offsets, limit, side="right")) - 1), count)
        best = _page_maxima(block(first, last, int(offsets[first]), int(offsets[last])), lengths[first:last])
        scores[first:last] = best.sum(axis=1) if weights is None else best @ weights
        first = last
    return scores


def _page_maxima(sims: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(pages, q): each page's best similarity per query vector; its rows are consecutive in `sims`."""
    if np.all(lengths == lengths[0]):
        return sims.reshape(len(lengths), int(lengths[0]), sims.shape[1]).max(axis=1)
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return np.maximum.reduceat(sims, starts, axis=0)


def score_pages(query: np.ndarray, pages: list[np.ndarray], weights: np.ndarray | None = None) -> np.ndarray:
    """Scores of a list of (n_i, d) pages."""
    if not pages:
        return np.empty(0, dtype=np.float32)
    offsets = np.zeros(len(pages) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in pages], out=offsets[1:])
    return maxsim_segments(query, np.concatenate(pages), offsets, weights)
