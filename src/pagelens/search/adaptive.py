"""The exact stage both retrievers share: score pages exactly in order of their estimate, widening while an
unscored page could still reach the top k.

`candidates` pages are scored first, then more in steps while the next page's estimate plus the largest
underestimate seen among the scored ones (or a quantile of them, `error_quantile`), plus their standard
deviation, could still reach the current k-th exact score, up to `ceiling`. Where the estimates rank well this stops at once; where a query's scores are
flat (the estimates cannot separate the pages) it scores more. Measured on bench/generators' distributions:
the largest underestimate alone stops too soon on queries drawn from several pages.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def widen_exactly(
    estimates: np.ndarray,
    score: Callable[[np.ndarray], np.ndarray],
    k: int,
    candidates: int,
    ceiling: int,
    *,
    error_quantile: float = 1.0,
) -> tuple[int, np.ndarray]:
    """`estimates` of the ranked items 0..n-1, best first; `score(indices)` gives their exact scores.
    `error_quantile`: the quantile of the underestimates seen that bounds an unscored item's (1.0: the
    largest). Returns how many leading items were scored, and their exact scores."""
    limit = min(len(estimates), max(ceiling, candidates))
    scored = min(candidates, limit)
    scores = score(np.arange(scored))
    step = max(candidates // 4, 16)
    while scored < limit:
        kth = np.partition(scores, len(scores) - k)[len(scores) - k] if len(scores) >= k else -np.inf
        errors = scores - estimates[:scored]
        underestimate = float(np.quantile(errors, error_quantile) + errors.std())
        if estimates[scored] + max(underestimate, 0.0) < kth:
            break
        more = np.arange(scored, min(limit, scored + step))
        scores = np.concatenate([scores, score(more)])
        scored += len(more)
    return scored, scores


def image_query_finalists(
    pool: np.ndarray,
    pooled: tuple[np.ndarray, np.ndarray | None],
    score: Callable[[np.ndarray, np.ndarray, np.ndarray | None], np.ndarray],
    k: int,
    finalists: int,
) -> np.ndarray:
    """An image as the query has hundreds of vectors: narrow `pool` with its weighted centroids `pooled`
    scored on the candidates' full vectors (`score(query, pool, weights)`), keeping `finalists` (at least 2k)
    for the exact score with the full query."""
    keep = max(finalists, 2 * k)
    if len(pool) <= keep:
        return pool
    approx = score(pooled[0], pool, pooled[1])
    return pool[np.argpartition(-approx, keep - 1)[:keep]]
