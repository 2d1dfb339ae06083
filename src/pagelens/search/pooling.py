"""A compact stand-in for each page, for candidate generation: a few k-means centroids of its vectors.

MaxSim against a page's centroids approximates MaxSim against all of its vectors well enough to pick the
candidates that exact scoring then ranks. ColPali pages carry hundreds of near-identical background patches;
k-means folds them into one centroid, so ~32 centroids keep the distinct content of a ~1,000-vector page.
"""

from __future__ import annotations

import numpy as np

CENTROIDS_PER_PAGE = 32
ITERATIONS = 3


def page_centroids(
    vectors: np.ndarray, count: int = CENTROIDS_PER_PAGE, iterations: int = ITERATIONS
) -> np.ndarray:
    """(m, d) float32 unit-norm centroids of a page's (n, d) vectors, m = min(count, n). Deterministic."""
    return centroids_and_sizes(vectors, count, iterations)[0]


def centroids_and_sizes(
    vectors: np.ndarray, count: int = CENTROIDS_PER_PAGE, iterations: int = ITERATIONS
) -> tuple[np.ndarray, np.ndarray]:
    """Centroids as in `page_centroids`, and how many vectors each one stands for (float32)."""
    data = np.asarray(vectors, dtype=np.float32)
    n = len(data)
    if n <= count:
        return data.copy(), np.ones(n, dtype=np.float32)
    # deterministic spread-out start: evenly spaced rows
    centroids = data[np.linspace(0, n - 1, count).astype(np.intp)].copy()
    for _ in range(iterations):
        assign = np.argmax(data @ centroids.T, axis=1)
        onehot = np.zeros((n, count), dtype=np.float32)
        onehot[np.arange(n), assign] = 1.0
        sums = onehot.T @ data
        sizes = np.bincount(assign, minlength=count)
        empty = sizes == 0
        sums[empty] = centroids[empty]
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        centroids = sums / norms
    sizes = np.bincount(np.argmax(data @ centroids.T, axis=1), minlength=count).astype(np.float32)
    return centroids, sizes
