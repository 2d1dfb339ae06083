"""What every distribution shares: the `Source` protocol, streaming in whole-document batches, image
queries made from stored pages, where real documents come from, and the registry by name."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

BENCH = Path(__file__).resolve().parents[1]
REPO = BENCH.parent
CACHE = REPO / ".bench-out"  # gitignored: vectors extracted from real pages, reused by later runs
IMAGE_QUERY_VECTORS = 1030  # a ColPali page
IMAGE_QUERY_NOISE = 0.5  # per-vector noise norm of an image query (a re-scan of the page, not a copy)


def unit(x: np.ndarray) -> np.ndarray:
    """Rows L2-normalised, float32 (in place when `x` is float32)."""
    x = np.asarray(x, dtype=np.float32)
    x /= np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), np.float32(1e-12))
    return x


class Source(Protocol):
    """A corpus of `count` pages, each addressable by its 0-based index: page i depends only on (seed, i)
    and is regenerated on demand, so a corpus is never held in RAM."""

    name: str
    count: int
    dim: int
    description: str

    def info(self, index: int) -> tuple[str, int]:
        """(document path, 1-based page number) of page `index`; the pages of one path are consecutive."""
        ...

    def vectors(self, index: int) -> np.ndarray:
        """Page `index`: float32 (n, dim), rows L2-normalised."""
        ...

    def queries(self, count: int, seed: int = 1) -> list[np.ndarray]:
        """`count` text-like queries, float32 (q, dim) each."""
        ...


def batches(
    source: Source,
    batch_pages: int = 256,
    metadata: Callable[[int], dict[str, Any] | None] | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """`add_embeddings` records, ~`batch_pages` a batch, cut only between documents (pagelens replaces a
    document that is added again, so one document's pages must arrive in one call). One batch in RAM."""
    batch: list[dict[str, Any]] = []
    previous: str | None = None
    for index in range(source.count):
        path, page = source.info(index)
        if len(batch) >= batch_pages and path != previous:
            yield batch
            batch = []
        record: dict[str, Any] = {"path": path, "page": page, "embedding": source.vectors(index)}
        extra = metadata(index) if metadata is not None else None
        if extra:
            record["metadata"] = extra
        batch.append(record)
        previous = path
    if batch:
        yield batch


def image_queries(source: Source, count: int, seed: int = 2) -> tuple[list[np.ndarray], list[int]]:
    """`count` image-like queries of exactly 1,030 vectors: a stored page (drawn from `seed`) re-scanned,
    i.e. its vectors with noise of norm IMAGE_QUERY_NOISE each, cut (evenly spaced) or repeated to 1,030.
    Returns the queries and the page each was made from."""
    rng = np.random.default_rng([seed, 0x1A6E])
    pages = rng.choice(source.count, size=count, replace=count > source.count).tolist()
    out = []
    for page in pages:
        vectors = source.vectors(int(page))
        take = np.linspace(0, len(vectors) - 1, IMAGE_QUERY_VECTORS).round().astype(np.int64)
        picked = vectors[take]
        noise = rng.standard_normal(picked.shape).astype(np.float32) / np.sqrt(source.dim)
        out.append(unit(picked + np.float32(IMAGE_QUERY_NOISE) * noise))
    return out, [int(p) for p in pages]


def documents_of(source: Source) -> int:
    return len({source.info(i)[0] for i in range(source.count)})


# ---- real documents -------------------------------------------------------------------------------------
def shared_corpus_docs() -> Path:
    """`../shared/corpus/docs` beside the repository (or `$PAGELENS_SHARED_CORPUS/docs`)."""
    root = os.environ.get("PAGELENS_SHARED_CORPUS")
    return (Path(root) if root else REPO.parent / "shared" / "corpus") / "docs"


def real_docs() -> tuple[Path, str]:
    """The PDFs the real-page distributions read, and a label for the tables.

    `$PAGELENS_BENCH_DOCS` picks: a folder of PDFs, or `samples` (the documents `pagelens.samples` writes,
    ~20 pages, into .bench-out/samples). Unset: ../shared/corpus/docs where it exists, else the samples."""
    wanted = os.environ.get("PAGELENS_BENCH_DOCS", "")
    if wanted and wanted != "samples":
        folder = Path(wanted)
        if not any(folder.rglob("*.pdf")):
            raise SystemExit(f"PAGELENS_BENCH_DOCS={wanted}: no PDF under that folder")
        return folder, str(folder)
    shared = shared_corpus_docs()
    if not wanted and shared.is_dir() and any(shared.rglob("*.pdf")):
        return shared, "../shared/corpus/docs"
    samples = CACHE / "samples"
    if not any(samples.glob("*.pdf")):
        from pagelens.samples import write_samples

        write_samples(samples)
    return samples, "pagelens.samples" + (" (asked for)" if wanted else " (../shared/corpus/docs absent)")


# ---- registry -------------------------------------------------------------------------------------------
def _synthetic(pages: int, seed: int) -> Source:
    from generators.synthetic_source import SyntheticSource

    return SyntheticSource(pages, seed)


def _structured(pages: int, seed: int) -> Source:
    from generators.structured import StructuredSource

    return StructuredSource(pages, seed)


def _minilm(pages: int, seed: int) -> Source:
    from generators.minilm_text import MiniLMTextSource

    return MiniLMTextSource(pages, seed)


def _tiny(pages: int, seed: int) -> Source:
    from generators.tiny_pages import TinyModelSource

    return TinyModelSource(pages, seed)


_REGISTRY: dict[str, Callable[[int, int], Source]] = {
    "synthetic": _synthetic,
    "structured": _structured,
    "minilm": _minilm,
    "tiny-colqwen2": _tiny,
}


def names() -> list[str]:
    return list(_REGISTRY)


def make_source(name: str, pages: int, seed: int = 0) -> Source:
    if name not in _REGISTRY:
        raise ValueError(f"unknown generator {name!r}; choose from {', '.join(_REGISTRY)}")
    if pages <= 0:
        raise ValueError("pages must be positive")
    return _REGISTRY[name](pages, seed)
