"""Hierarchical token pooling of page vectors: fewer vectors a page, on disk and in MaxSim.

A page's n vectors are clustered by Ward's agglomerative clustering (scipy) into at most n // factor
clusters; each cluster becomes the L2-normalised mean of its vectors. This is the method of colpali-engine's
`HierarchicalTokenPooler` (Clavié et al., "Reducing the Footprint of Multi-Vector Retrieval with Minimal
Performance Impact via Token Pooling"), implemented here on numpy arrays: Ward linkage over the unit
vectors themselves. Only pages are pooled, never queries: `PagePooler` wraps an Embedder for writing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from pagelens.errors import UsageError

if TYPE_CHECKING:
    from PIL import Image

    from pagelens.embed.protocol import Embedder

MAX_POOL_FACTOR = 16


def check_pool_factor(factor: Any) -> int:
    if isinstance(factor, bool) or not isinstance(factor, int) or not 1 <= factor <= MAX_POOL_FACTOR:
        raise UsageError(f"pool factor must be an integer from 1 to {MAX_POOL_FACTOR}, got {factor!r}")
    return factor


def pool_vectors(vectors: np.ndarray, factor: int) -> np.ndarray:
    """(n, dim) float vectors -> (<= max(n // factor, 1), dim) float32 pooled, L2-normalised vectors."""
    vectors = np.asarray(vectors, dtype=np.float32)
    n = len(vectors)
    if factor <= 1 or n <= 1:
        return vectors
    from scipy.cluster.hierarchy import fcluster, linkage

    clusters = max(n // factor, 1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.maximum(norms, 1e-12)
    labels = fcluster(linkage(unit.astype(np.float64), method="ward"), t=clusters, criterion="maxclust")
    order = np.argsort(labels, kind="stable")
    _, starts = np.unique(labels[order], return_index=True)
    sums = np.add.reduceat(vectors[order], starts, axis=0)
    pooled = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    return pooled.astype(np.float32)


class PagePooler:
    """An Embedder whose page vectors are pooled by `factor`; queries (text) pass through unchanged."""

    def __init__(self, inner: Embedder, factor: int) -> None:
        self.inner = inner
        self.factor = check_pool_factor(factor)
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.image_side = inner.image_side

    def __getattr__(self, name: str) -> Any:  # batch_size, device, backend, ...
        return getattr(self.inner, name)

    def embed_images(self, images: Sequence[Image.Image]) -> list[np.ndarray]:
        return [pool_vectors(v, self.factor) for v in self.inner.embed_images(images)]

    def embed_queries(self, queries: Sequence[str]) -> list[np.ndarray]:
        return self.inner.embed_queries(queries)


def pool_pages(embedder: Embedder, factor: int | None) -> Embedder:
    """`embedder` itself for factor 1 (or None), else a `PagePooler` around it."""
    if not factor or factor == 1:
        return embedder
    return PagePooler(embedder, factor)
