"""Similarity maps: which patches of a page matched a query.

Each stored page vector gets the best dot product over the query's vectors (the per-patch half of MaxSim),
laid out on the page's patch grid. The grid comes from the model when its embedder offers
`patch_grid(width, height, n_vectors) -> (rows, cols, first)`; otherwise it is inferred from the vector
count and the page's aspect ratio (a square grid when the count is a square plus a few extra tokens, as
ColPali's 32 x 32 + 6; else the rows x cols nearest the page's shape that uses nearly every vector), with the
grid taken as the first rows x cols vectors.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_EXTRA_TOKENS = 16  # special/text tokens a model may add to a page's patch vectors
MAX_UNUSED_SHARE = 0.08  # an inferred grid leaves at most this share of the vectors off the map
HEATMAP_CELL = 24  # pixels per patch in the PNG (the browser scales it onto the page)
HEATMAP_MAX_SIDE = 768


@dataclass
class SimilarityMap:
    rows: int
    cols: int
    values: np.ndarray  # (rows, cols) float32: best similarity over query tokens, per patch
    source: str  # "model" or "inferred"

    @property
    def low(self) -> float:
        return float(self.values.min()) if self.values.size else 0.0

    @property
    def high(self) -> float:
        return float(self.values.max()) if self.values.size else 0.0

    def normalised(self) -> np.ndarray:
        span = self.high - self.low
        if span <= 1e-12:
            return np.zeros_like(self.values)
        return (self.values - self.low) / span


def infer_grid(n_vectors: int, aspect: float) -> tuple[int, int]:
    """(rows, cols) for `n_vectors` patch vectors of a page `aspect` = width / height wide."""
    if n_vectors <= 0:
        return 0, 0
    side = math.isqrt(n_vectors)
    if n_vectors - side * side <= min(MAX_EXTRA_TOKENS, max(1, n_vectors // 16)):
        return side, side
    aspect = aspect if math.isfinite(aspect) and aspect > 0 else 1.0
    best: tuple[float, int, int] | None = None
    for rows in range(1, n_vectors + 1):
        cols = n_vectors // rows
        if cols == 0:
            break
        unused = (n_vectors - rows * cols) / n_vectors
        if unused > MAX_UNUSED_SHARE:
            continue
        cost = abs(math.log((cols / rows) / aspect)) + 4 * unused
        if best is None or cost < best[0]:
            best = (cost, rows, cols)
    if best is None:  # pragma: no cover - rows == n_vectors, cols == 1 always qualifies
        return n_vectors, 1
    return best[1], best[2]


def patch_grid(embedder: Any, n_vectors: int, width: int, height: int) -> tuple[int, int, int, str]:
    """(rows, cols, first vector, source) for a page: the model's own grid if it offers one, else inferred."""
    offered = getattr(embedder, "patch_grid", None)
    if callable(offered):
        try:
            grid = offered(width, height, n_vectors)
        except Exception:  # noqa: BLE001 - a backend's helper failing only costs the exact grid
            grid = None
        if grid is not None:
            rows, cols, first = (int(v) for v in grid)
            if rows > 0 and cols > 0 and first >= 0 and first + rows * cols <= n_vectors:
                return rows, cols, first, "model"
    rows, cols = infer_grid(n_vectors, width / height if width > 0 and height > 0 else 1.0)
    return rows, cols, 0, "inferred"


def similarity_map(
    page_vectors: np.ndarray, query_vectors: np.ndarray, grid: tuple[int, int, int, str]
) -> SimilarityMap:
    rows, cols, first, source = grid
    page = np.asarray(page_vectors, dtype=np.float32)[first : first + rows * cols]
    query = np.asarray(query_vectors, dtype=np.float32)
    best = (page @ query.T).max(axis=1) if len(query) else np.zeros(len(page), dtype=np.float32)
    return SimilarityMap(rows, cols, best.reshape(rows, cols).astype(np.float32), source)


def heatmap_png(similarity: SimilarityMap) -> bytes:
    """A transparent-to-red RGBA PNG of the map, to lay over the page image at the same size."""
    from PIL import Image

    level = similarity.normalised() ** 1.5
    rgba = np.zeros((similarity.rows, similarity.cols, 4), dtype=np.uint8)
    rgba[..., 0] = 255
    rgba[..., 1] = np.clip(210 * (1 - level), 0, 255).astype(np.uint8)
    rgba[..., 2] = 0
    rgba[..., 3] = np.clip(215 * level, 0, 255).astype(np.uint8)
    image = Image.fromarray(rgba, "RGBA")
    scale = max(1, min(HEATMAP_CELL, HEATMAP_MAX_SIDE // max(similarity.rows, similarity.cols, 1)))
    image = image.resize((similarity.cols * scale, similarity.rows * scale), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
