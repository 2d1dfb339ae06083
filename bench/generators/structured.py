"""A page-vector distribution built differently from bench/synthetic.py, to check that recall does not hold
only where the engine was tuned.

What differs (all seeded; page i depends only on (seed, i), so it is the same in every corpus size):
- **page sizes**: 15 % of pages have 300 vectors (a low-resolution/ColQwen-size page), 10 % have 2,000 (a
  high-resolution page), the rest 700-1,100; the last 6 vectors of every page are shared prompt tokens.
- **background**: three kinds of page: dense (5-20 % background: tables, text walls; 35 % of pages),
  ordinary (40-60 %; 45 %) and near-blank (75-92 %: slides, covers; 20 %), drawn from 6 background prototypes
  (paper styles), each document keeps one style.
- **content**: 96 topics with 8 sub-directions each, 8-96 content atoms a page, the per-page noise level
  itself random (0.25-0.70), a weaker global mean direction (0.30) than synthetic.py.
- **near-duplicate pages**: 12 % of pages copy an earlier page (often in another document: a re-issued
  report) with 5-15 % of their content vectors redrawn and a little noise on the rest.
- **queries** (8-32 tokens): 40 % from one page's content, 35 % drawn from 2-4 pages (half from the first),
  25 % mostly from one page plus 2-6 filler tokens near the mean and prompt directions (stop-words); query
  noise per query 0.8-1.4.
"""

from __future__ import annotations

import numpy as np

from generators.base import unit

DIM = 128
PROMPT_TOKENS = 6
TOPICS = 96
SUBDIRECTIONS = 8
STYLES = 6
MEAN_WEIGHT = 0.30
PAGES_PER_DOC = (1, 30)
DUPLICATE_SHARE = 0.12
SIZES = ((0.15, 300, 300), (0.10, 2000, 2000), (0.75, 700, 1100))  # (share, min, max) vectors a page
BACKGROUND = ((0.35, 0.05, 0.20), (0.45, 0.40, 0.60), (0.20, 0.75, 0.92))  # (share, min, max) background


def _pick(rng: np.random.Generator, table: tuple[tuple[float, float, float], ...]) -> tuple[float, float]:
    shares = np.array([row[0] for row in table])
    row = table[int(rng.choice(len(table), p=shares / shares.sum()))]
    return row[1], row[2]


class StructuredSource:
    name = "structured"
    description = (
        "generators/structured.py: 300 / 700-1,100 / 2,000-vector pages, 5-92 % background in three page kinds, "
        "96 topics, 12 % near-duplicate pages, 8-32-token queries drawn from 1-4 pages with filler tokens"
    )

    def __init__(self, pages: int, seed: int = 0, dim: int = DIM) -> None:
        self.count = pages
        self.seed = seed
        self.dim = dim
        shared = np.random.default_rng([seed, 0x57C7])
        self.mean = unit(shared.standard_normal(dim))
        blank = unit(shared.standard_normal(dim))
        styles = unit(shared.standard_normal((STYLES, dim)))
        self.backgrounds = unit(0.7 * self.mean + 0.6 * blank + 0.35 * styles)
        self.prompt = unit(0.5 * self.mean + unit(shared.standard_normal((PROMPT_TOKENS, dim))))
        centres = unit(shared.standard_normal((TOPICS, dim)))
        spread = unit(shared.standard_normal((TOPICS, SUBDIRECTIONS, dim)))
        self.topic_dirs = unit(centres[:, None, :] + 0.8 * spread)
        layout_rng = np.random.default_rng([seed, 0x1A70])
        self.layout: list[tuple[str, int, int, int]] = []  # (path, page, doc, topic)
        doc = 0
        while len(self.layout) < pages:
            size = int(layout_rng.integers(PAGES_PER_DOC[0], PAGES_PER_DOC[1] + 1))
            topic = int(layout_rng.integers(TOPICS))
            for number in range(1, size + 1):
                if len(self.layout) == pages:
                    break
                self.layout.append((f"structured/doc-{doc:06d}.pdf", number, doc, topic))
            doc += 1

    def info(self, index: int) -> tuple[str, int]:
        path, page, _, _ = self.layout[index]
        return path, page

    # ---- pages ---------------------------------------------------------------------------------------------
    def _duplicate_of(self, index: int) -> int | None:
        """The earlier original page that page `index` nearly duplicates, or None."""
        if index == 0:
            return None
        rng = np.random.default_rng([self.seed, 0xD0B, index])
        if rng.random() >= DUPLICATE_SHARE:
            return None
        original = int(rng.integers(index))
        while (again := self._duplicate_of(original)) is not None:  # originals only: chains end at one
            original = again
        return original

    def _original(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Page `index` generated from scratch: (n, dim) vectors and the mask of content vectors."""
        rng = np.random.default_rng([self.seed, 0x9A6E, index])
        _, _, doc, topic = self.layout[index] if index < len(self.layout) else ("", 1, index, 0)
        low, high = _pick(rng, SIZES)
        n = int(rng.integers(int(low), int(high) + 1))
        grid = n - PROMPT_TOKENS
        low, high = _pick(rng, BACKGROUND)
        n_background = int(round(rng.uniform(low, high) * grid))
        style = int(np.random.default_rng([self.seed, 0x5791, doc]).integers(STYLES))
        doc_rng = np.random.default_rng([self.seed, 0xD0C, doc])
        doc_atoms = unit(
            MEAN_WEIGHT * self.mean
            + 0.6 * unit(doc_rng.dirichlet(np.ones(SUBDIRECTIONS), size=3) @ self.topic_dirs[topic])
            + 0.8 * unit(doc_rng.standard_normal((3, self.dim)))
        )
        n_atoms = int(rng.integers(8, 97))
        mix = rng.dirichlet(np.full(SUBDIRECTIONS, 0.4), size=n_atoms).astype(np.float32)
        atoms = unit(
            MEAN_WEIGHT * self.mean
            + 0.6 * unit(mix @ self.topic_dirs[topic])
            + 0.7 * unit(rng.standard_normal((n_atoms, self.dim)))
        )
        # content: runs of one atom (lines), 8 % of cells from the document's atoms
        runs = np.sort(rng.random(grid - n_background))
        source = np.minimum((runs * n_atoms).astype(np.int64), n_atoms - 1)
        content = atoms[source]
        from_doc = rng.random(len(content)) < 0.08
        content[from_doc] = doc_atoms[rng.integers(3, size=int(from_doc.sum()))]
        noise_level = rng.uniform(0.25, 0.70)
        content = content + np.float32(noise_level / np.sqrt(self.dim)) * rng.standard_normal(
            content.shape, dtype=np.float32
        )
        background = self.backgrounds[style] + np.float32(0.04 / np.sqrt(self.dim)) * rng.standard_normal(
            (n_background, self.dim), dtype=np.float32
        )
        cells = np.empty((grid, self.dim), dtype=np.float32)
        is_content = np.zeros(grid, dtype=bool)
        where = rng.permutation(grid)
        is_content[where[: len(content)]] = True
        cells[is_content] = content
        cells[~is_content] = background
        prompt = self.prompt + 0.01 * rng.standard_normal(self.prompt.shape) / np.sqrt(self.dim)
        vectors = unit(np.concatenate([cells, prompt]).astype(np.float32))
        mask = np.concatenate([is_content, np.zeros(PROMPT_TOKENS, dtype=bool)])
        return vectors, mask

    def page(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(vectors, content mask) of page `index`, near-duplicates included."""
        original = self._duplicate_of(index)
        if original is None:
            return self._original(index)
        vectors, mask = self._original(original)
        vectors = vectors.copy()
        rng = np.random.default_rng([self.seed, 0xD1FF, index])
        content = np.flatnonzero(mask)
        redraw = rng.choice(content, size=int(len(content) * rng.uniform(0.05, 0.15)), replace=False)
        fresh = unit(MEAN_WEIGHT * self.mean + unit(rng.standard_normal((len(redraw), self.dim))))
        vectors[redraw] = fresh
        vectors += np.float32(0.05 / np.sqrt(self.dim)) * rng.standard_normal(vectors.shape, dtype=np.float32)
        return unit(vectors), mask

    def vectors(self, index: int) -> np.ndarray:
        return self.page(index)[0]

    # ---- queries -------------------------------------------------------------------------------------------
    def queries(self, count: int, seed: int = 1) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, 0x0E2, seed])
        out: list[np.ndarray] = []
        for _ in range(count):
            length = int(rng.integers(8, 33))
            kind = rng.choice(3, p=[0.40, 0.35, 0.25])
            if kind == 1:
                pages = rng.choice(self.count, size=min(self.count, int(rng.integers(2, 5))), replace=False)
                shares = (
                    np.array([0.5] + [0.5 / (len(pages) - 1)] * (len(pages) - 1)) if len(pages) > 1 else [1.0]
                )
            else:
                pages = rng.choice(self.count, size=1)
                shares = np.array([1.0])
            filler = int(rng.integers(2, 7)) if kind == 2 else 0
            counts = np.maximum(1, np.round(np.asarray(shares) * (length - filler)).astype(int))
            noise = rng.uniform(0.8, 1.4)
            tokens: list[np.ndarray] = []
            for page, take in zip(pages.tolist(), counts.tolist(), strict=True):
                vectors, mask = self.page(int(page))
                cells = np.flatnonzero(mask)
                if len(cells) == 0:
                    cells = np.arange(len(vectors))
                chosen = rng.choice(cells, size=take, replace=len(cells) < take)
                tokens.append(
                    vectors[chosen] + noise * rng.standard_normal((take, self.dim)) / np.sqrt(self.dim)
                )
            if filler:
                base = np.concatenate([self.mean[None], self.prompt])
                picks = base[rng.integers(len(base), size=filler)]
                tokens.append(picks + 0.5 * rng.standard_normal((filler, self.dim)) / np.sqrt(self.dim))
            out.append(unit(np.concatenate(tokens).astype(np.float32)))
        return out
