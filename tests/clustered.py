"""Page multi-vectors built unlike the engine's own bench data, for tests of approximate search."""

from __future__ import annotations

import numpy as np


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def clustered_pages(
    count: int, seed: int, sizes: tuple[int, int] = (150, 260)
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Pages built unlike the engine's own bench data: 40 topics, a shared background block of varying size,
    `sizes` vectors a page; queries mix 14 tokens of one page with 6 of another, plus noise."""
    rng = np.random.default_rng(seed)
    topics = unit(rng.standard_normal((40, 128)))
    background = unit(rng.standard_normal((4, 128)))
    pages = []
    for _ in range(count):
        topic = topics[rng.integers(40)]
        n = int(rng.integers(*sizes))
        share = rng.uniform(0.1, 0.7)
        back = int(n * share)
        content = unit(topic + 0.9 * unit(rng.standard_normal((n - back, 128))))
        noise = 0.1 * rng.standard_normal((back, 128))
        pages.append(unit(np.concatenate([background[rng.integers(4, size=back)] + noise, content])))
    queries = []
    for _ in range(12):
        first, second = (pages[int(i)] for i in rng.integers(count, size=2))
        tokens = np.concatenate([first[rng.choice(len(first), 14)], second[rng.choice(len(second), 6)]])
        queries.append(unit(tokens + 0.35 * rng.standard_normal(tokens.shape)))
    return pages, queries
