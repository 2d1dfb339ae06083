"""Synthetic ColPali-like page embeddings for scale benchmarks (numpy only, seeded, deterministic).

Why synthetic: scale runs need 10,000+ pages and there is no model time to embed that many here. The
generator imitates the structure that matters to late-interaction search (design.md, "Performance method"):

- A page is 1,030 L2-normalised 128-d vectors: a 32 x 32 grid of image patches (row-major, 1,024) and 6
  prompt tokens that ColPali appends to every page (near-identical across all pages).
- Background: 40-60 % of a page's patches (its margins first, then blank areas) are near-identical "white
  margin" vectors shared by all pages (one of 3 global background prototypes, cosine ~0.99 to it).
- Topics: documents belong to clustered topics. Each topic has a centroid and a few directions around it;
  each page draws 24-64 content "atoms" mixing its topic's directions with page-specific content, plus a few
  atoms shared by every page of its document (running headers, logos). Content patches are an atom plus
  noise, laid out in contiguous runs (lines of text) over the non-background cells.
- Every vector also leans on one global mean direction, as real ColPali vectors do (they are far from
  isotropic), so unrelated pages still score well above zero.
- Queries: 20 vectors, each a distinct content patch of a known target page plus fresh noise, so every
  query has a target page (usually, not always, its exact top-1: doc-shared atoms make siblings compete).

Determinism: page i is the same for every corpus size with the same seed (pages are generated in fixed
blocks of `BLOCK` pages, each from its own seeded stream), so a 1,000-page corpus is the first 1,000 pages
of the 10,000-page one. Noise is uniform per component (random int8 bytes, cheap to draw); after summing
into 128 dimensions and normalising it behaves like isotropic Gaussian noise for dot products.

Speed: ~2-3 s per 1,000 pages on 2 cores; `blocks()`/`records()` stream, so memory stays at one block.

    corpus = SyntheticCorpus(pages=10_000, seed=0)
    for batch in corpus.records(batch_pages=256):   # lists of add_embeddings records, whole documents
        index.add_embeddings(batch)
    queries, targets = corpus.queries(50)           # (50, 20, 128) float32, (50,) target page indices
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DIM = 128
GRID = 32  # 32 x 32 image patches
PROMPT_TOKENS = 6
VECTORS_PER_PAGE = GRID * GRID + PROMPT_TOKENS  # 1,030, as ColPali
QUERY_VECTORS = 20
BLOCK = 64  # pages generated together; fixed, so page i never depends on the corpus size

TOPICS = 64
TOPIC_DIRECTIONS = 6
BACKGROUND_PROTOTYPES = 3
BACKGROUND_SHARE = (0.40, 0.60)
PAGE_ATOMS = (24, 64)
DOC_ATOMS = 4
DOC_ATOM_SHARE = 0.10  # content patches drawn from the document's shared atoms
PAGES_PER_DOC = (1, 20)

MEAN_WEIGHT = 0.45  # pull of the global mean direction on everything
CONTENT_NOISE = 0.45  # noise norm relative to a unit atom, content patches
BACKGROUND_NOISE = 0.03  # near-identical background / prompt tokens
QUERY_NOISE = 1.20  # noise added to a target patch to make a query vector

_UNIFORM_STD = np.float32(np.sqrt((256**2 - 1) / 12.0))  # std of a uniform int8


def _unit(x: np.ndarray) -> np.ndarray:
    """Normalise along the last axis, in place (float32 in, float32 out)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.sqrt(np.einsum("...i,...i->...", x, x))[..., None]
    x /= np.maximum(norms, np.float32(1e-12))
    return x


def _noise(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Per-component uniform noise, scaled so a `dim`-vector of it has norm ~1."""
    count = int(np.prod(shape))
    raw = np.frombuffer(rng.bytes(count), dtype=np.int8).astype(np.float32).reshape(shape)
    raw *= np.float32(1.0) / (_UNIFORM_STD * np.float32(np.sqrt(shape[-1])))
    return raw


@dataclass(frozen=True)
class PageInfo:
    index: int  # 0-based position in the corpus
    doc: int
    path: str
    page: int  # 1-based page number within its document
    topic: int


@dataclass
class SyntheticCorpus:
    """`pages` ColPali-like pages grouped into documents (1-20 pages each) of `TOPICS` topics."""

    pages: int
    seed: int = 0
    dim: int = DIM
    layout: list[PageInfo] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.pages <= 0:
            raise ValueError("pages must be positive")
        root = np.random.SeedSequence([self.seed, 0x5EED])
        shared = np.random.default_rng(root.spawn(1)[0])
        d = self.dim
        self._mean = _unit(shared.standard_normal(d).astype(np.float32))
        mean = self._mean
        blank = _unit(shared.standard_normal(d).astype(np.float32))
        variants = _unit(shared.standard_normal((BACKGROUND_PROTOTYPES, d)).astype(np.float32))
        backgrounds = mean * 0.8 + 0.6 * blank + 0.12 * variants
        self._backgrounds = _unit(backgrounds.astype(np.float32))
        self._prompt = _unit(
            (mean * 0.5 + _unit(shared.standard_normal((PROMPT_TOKENS, d)))).astype(np.float32)
        )
        centres = _unit(shared.standard_normal((TOPICS, d)).astype(np.float32))
        spread = _unit(shared.standard_normal((TOPICS, TOPIC_DIRECTIONS, d)).astype(np.float32))
        self._topic_dirs = _unit(centres[:, None, :] + 0.7 * spread)
        # margins first: a cell's "blankness" grows toward the page edge
        rows, cols = np.meshgrid(np.arange(GRID), np.arange(GRID), indexing="ij")
        edge = np.minimum(np.minimum(rows, GRID - 1 - rows), np.minimum(cols, GRID - 1 - cols))
        self._blankness = (1.0 - edge / (GRID / 2)).reshape(-1).astype(np.float32)
        self.layout = self._make_layout(np.random.default_rng(root.spawn(2)[1]))

    def _make_layout(self, rng: np.random.Generator) -> list[PageInfo]:
        layout: list[PageInfo] = []
        doc = 0
        while len(layout) < self.pages:
            size = int(rng.integers(PAGES_PER_DOC[0], PAGES_PER_DOC[1] + 1))
            topic = int(rng.integers(TOPICS))
            for number in range(1, size + 1):
                if len(layout) == self.pages:
                    break
                layout.append(PageInfo(len(layout), doc, f"synthetic/doc-{doc:06d}.pdf", number, topic))
            doc += 1
        return layout

    # ---- generation ------------------------------------------------------------------------------------
    def _doc_atoms(self, doc: int, topic: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, 0xD0C, doc])
        mix = (
            rng.dirichlet(np.ones(TOPIC_DIRECTIONS), size=DOC_ATOMS).astype(np.float32)
            @ self._topic_dirs[topic]
        )
        atoms = (
            MEAN_WEIGHT * self._mean
            + 0.6 * _unit(mix)
            + 0.8 * _unit(rng.standard_normal((DOC_ATOMS, self.dim)))
        )
        return _unit(atoms.astype(np.float32))

    def _block(self, block: int) -> tuple[np.ndarray, np.ndarray]:
        """Pages [block*BLOCK, (block+1)*BLOCK) of an unbounded corpus: (B, 1030, dim) float32 vectors and a
        (B, 1030) bool mask of content (non-background, non-prompt) vectors."""
        rng = np.random.default_rng([self.seed, 0xB10C, block])
        d, n_grid = self.dim, GRID * GRID
        first = block * BLOCK
        infos = [self._info(first + i) for i in range(BLOCK)]
        count = len(infos)
        max_atoms = PAGE_ATOMS[1]
        # source table per page: [backgrounds..., prompt..., doc atoms..., page atoms...]
        n_fixed = BACKGROUND_PROTOTYPES + PROMPT_TOKENS
        table = np.empty((count, n_fixed + DOC_ATOMS + max_atoms, d), dtype=np.float32)
        drift = _noise(rng, (count, BACKGROUND_PROTOTYPES, d)) * np.float32(0.05)
        table[:, :BACKGROUND_PROTOTYPES] = _unit(self._backgrounds[None] + drift)
        table[:, BACKGROUND_PROTOTYPES:n_fixed] = self._prompt[None]
        docs: dict[int, np.ndarray] = {}
        for i, info in enumerate(infos):
            if info.doc not in docs:
                docs[info.doc] = self._doc_atoms(info.doc, info.topic)
            table[i, n_fixed : n_fixed + DOC_ATOMS] = docs[info.doc]
        topics = np.array([info.topic for info in infos])
        mix = rng.dirichlet(np.full(TOPIC_DIRECTIONS, 0.5), size=(count, max_atoms)).astype(np.float32)
        topical = _unit(np.einsum("pak,pkd->pad", mix, self._topic_dirs[topics]))
        own = _unit(rng.standard_normal((count, max_atoms, d), dtype=np.float32))
        table[:, n_fixed + DOC_ATOMS :] = _unit(MEAN_WEIGHT * self._mean + 0.55 * topical + 0.75 * own)

        # which grid cells are background: the most "blank" cells, blankness jittered per page
        share = rng.uniform(*BACKGROUND_SHARE, size=count)
        n_background = np.round(share * n_grid).astype(np.int64)
        priority = self._blankness[None] + 0.6 * rng.random((count, n_grid), dtype=np.float32)
        order = np.argsort(-priority, axis=1)
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(n_grid)[None].repeat(count, 0), axis=1)
        background = rank < n_background[:, None]

        # content cells: contiguous runs of one atom (lines of text), some cells from the doc's atoms
        n_atoms = rng.integers(PAGE_ATOMS[0], PAGE_ATOMS[1] + 1, size=count)
        runs = np.sort(rng.random((count, n_grid)), axis=1)  # monotone -> contiguous runs after scaling
        atom = np.minimum((runs * n_atoms[:, None]).astype(np.int64), n_atoms[:, None] - 1)
        source = n_fixed + DOC_ATOMS + atom
        from_doc = rng.random((count, n_grid)) < DOC_ATOM_SHARE
        source = np.where(from_doc, n_fixed + rng.integers(DOC_ATOMS, size=(count, n_grid)), source)
        source = np.where(background, rng.integers(BACKGROUND_PROTOTYPES, size=(count, n_grid)), source)
        prompt_source = np.broadcast_to(np.arange(BACKGROUND_PROTOTYPES, n_fixed), (count, PROMPT_TOKENS))
        source = np.concatenate([source, prompt_source], axis=1)
        content = np.concatenate([~background, np.zeros((count, PROMPT_TOKENS), dtype=bool)], axis=1)

        flat = (np.arange(count)[:, None] * table.shape[1] + source).reshape(-1)
        vectors = np.take(table.reshape(-1, d), flat, axis=0).reshape(count, VECTORS_PER_PAGE, d)
        # fresh noise per vector: content patches spread around their atom, background/prompt stay tight
        noise = _noise(rng, vectors.shape)
        noise *= np.where(content, np.float32(CONTENT_NOISE), np.float32(BACKGROUND_NOISE))[:, :, None]
        vectors += noise
        return _unit(vectors), content

    def _info(self, index: int) -> PageInfo:
        if index < len(self.layout):
            return self.layout[index]
        # pages past the end of the corpus (the tail of the last block): a throwaway document
        return PageInfo(index, 1_000_000_000 + index, "", 1, index % TOPICS)

    def blocks(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Yield (first page index, (b, 1030, dim) float32) covering pages [start, stop), in order."""
        stop = self.pages if stop is None else min(stop, self.pages)
        block = start // BLOCK
        while block * BLOCK < stop:
            vectors, _ = self._block(block)
            lo = max(start, block * BLOCK)
            hi = min(stop, (block + 1) * BLOCK)
            yield lo, vectors[lo - block * BLOCK : hi - block * BLOCK]
            block += 1

    def page(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """One page's (1030, dim) vectors and its content mask (regenerates its block)."""
        vectors, content = self._block(index // BLOCK)
        return vectors[index % BLOCK], content[index % BLOCK]

    def fill(self, out: np.ndarray | None = None) -> np.ndarray:
        """All pages as one (pages, 1030, dim) float32 array (pages x 527 KB: mind the RAM at scale)."""
        if out is None:
            out = np.empty((self.pages, VECTORS_PER_PAGE, self.dim), dtype=np.float32)
        for first, vectors in self.blocks():
            out[first : first + len(vectors)] = vectors
        return out

    def records(
        self, batch_pages: int = 256, vectors: np.ndarray | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """`add_embeddings` records in batches of whole documents (~batch_pages pages each; a document is
        never split across batches). `vectors`: take pages from this (pages, 1030, dim) array instead of
        generating them."""
        batch: list[dict[str, Any]] = []

        def pages_of(lo: int, hi: int) -> Iterator[tuple[int, np.ndarray]]:
            if vectors is not None:
                for i in range(lo, hi):
                    yield i, vectors[i]
            else:
                for first, block in self.blocks(lo, hi):
                    for j in range(len(block)):
                        yield first + j, block[j]

        for index, array in pages_of(0, self.pages):
            info = self.layout[index]
            if len(batch) >= batch_pages and info.page == 1:
                yield batch
                batch = []
            batch.append({"path": info.path, "page": info.page, "embedding": array})
        if batch:
            yield batch

    def queries(self, count: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """`count` queries: (count, 20, dim) float32 and their target page indices (distinct when possible)."""
        rng = np.random.default_rng([self.seed, 0x0E1, seed])
        targets = rng.choice(self.pages, size=count, replace=count > self.pages)
        out = np.empty((count, QUERY_VECTORS, self.dim), dtype=np.float32)
        by_block: dict[int, list[int]] = {}
        for q, target in enumerate(targets.tolist()):
            by_block.setdefault(target // BLOCK, []).append(q)
        for block, qs in sorted(by_block.items()):
            vectors, content = self._block(block)
            for q in qs:
                local = int(targets[q]) % BLOCK
                cells = np.flatnonzero(content[local])
                chosen = rng.choice(cells, size=QUERY_VECTORS, replace=len(cells) < QUERY_VECTORS)
                noisy = vectors[local, chosen] + QUERY_NOISE * _noise(rng, (QUERY_VECTORS, self.dim))
                out[q] = _unit(noisy)
        return out, targets.astype(np.int64)

    def index_of(self, path: str, page: int) -> int:
        """The corpus index of (path, page)."""
        if not hasattr(self, "_by_key"):
            self._by_key = {(p.path, p.page): p.index for p in self.layout}
        return self._by_key[(path, page)]
