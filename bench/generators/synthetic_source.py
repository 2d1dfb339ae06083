"""bench/synthetic.py as a `Source` (its blocks of 64 pages cached one at a time)."""

from __future__ import annotations

import numpy as np

from generators.base import BENCH

if str(BENCH) not in __import__("sys").path:
    __import__("sys").path.insert(0, str(BENCH))

from synthetic import BLOCK, SyntheticCorpus  # noqa: E402


class SyntheticSource:
    name = "synthetic"
    description = (
        "bench/synthetic.py: 1,030 vectors a page, 40-60 % shared background patches, 64 topics, "
        "20-vector queries made of noisy content patches of one target page"
    )

    def __init__(self, pages: int, seed: int = 0) -> None:
        self.corpus = SyntheticCorpus(pages, seed=seed)
        self.count = pages
        self.dim = self.corpus.dim
        self._block = -1
        self._vectors: np.ndarray | None = None

    def info(self, index: int) -> tuple[str, int]:
        page = self.corpus.layout[index]
        return page.path, page.page

    def vectors(self, index: int) -> np.ndarray:
        block = index // BLOCK
        if block != self._block or self._vectors is None:
            self._vectors = self.corpus._block(block)[0]
            self._block = block
        return self._vectors[index % BLOCK].copy()

    def queries(self, count: int, seed: int = 1) -> list[np.ndarray]:
        vectors, _ = self.corpus.queries(count, seed=seed)
        return list(vectors)
