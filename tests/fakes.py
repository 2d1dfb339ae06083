"""A small deterministic embedder for tests where the model is beside the point (ingest, store, CLI plumbing).

Images: the page is cut into a 6x6 grid; each cell's mean colour and position is projected by a fixed random
matrix to a unit 128-d vector, so different pages get different vectors and the same page the same ones.
Queries: one vector per word, from a hash of the word. Model-path tests use real tiny models instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from PIL import Image

DIM = 128
GRID = 6


class FakeEmbedder:
    model_id = "fake-embedder"
    dim = DIM
    image_side = 96
    batch_size = 4

    def __init__(self) -> None:
        self._projection = np.random.default_rng(7).standard_normal((5, DIM)).astype(np.float32)
        self.images_embedded = 0

    def embed_images(self, images: Sequence[Image.Image]) -> list[np.ndarray]:
        out = []
        for image in images:
            small = np.asarray(image.convert("RGB").resize((GRID, GRID)), dtype=np.float32) / 255.0
            rows = []
            for y in range(GRID):
                for x in range(GRID):
                    features = np.array([*small[y, x], x / GRID, y / GRID], dtype=np.float32)
                    rows.append(np.tanh(features @ self._projection * 3))
            matrix = np.stack(rows)
            out.append(matrix / np.linalg.norm(matrix, axis=1, keepdims=True))
        self.images_embedded += len(images)
        return out

    def embed_queries(self, queries: Sequence[str]) -> list[np.ndarray]:
        out = []
        for query in queries:
            rows = []
            for word in query.split():
                seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "big")
                rows.append(np.random.default_rng(seed).standard_normal(DIM).astype(np.float32))
            matrix = np.stack(rows)
            out.append(matrix / np.linalg.norm(matrix, axis=1, keepdims=True))
        return out
