"""Candidate generation: a faiss IVF-PQ index (4-bit fast-scan codes) over every stored page vector, each
vector's id its page's id.

A query token's nearest stored vectors name the pages that hold something close to it, whatever else is on
them: per-page centroids average a page's rare, decisive vectors away (measured at 10,000 pages of real text
token vectors: the true top 10 sat at a median depth of 1,068 in centroid order, against 19 among the pages
ranked by their token hits, bench/README.md). Codes take dim/4 bytes a vector (32 at 128-d), plus the 8-byte
id, and are held in RAM; the full vectors stay on disk for the exact stage.

- `Codebook`: the trained, empty index (coarse quantizer and product quantizer), with a random id. It is
  trained on a sample of the cached vectors once the cache holds TRAIN_MIN_PAGES pages, and trained anew
  (every page re-encoded) each time the cache has grown RETRAIN_GROWTH-fold since, so that its cells keep
  fitting the corpus.
- `encode`: one cache segment's vectors as a faiss index of that codebook, saved beside the segment's arrays.
- `TokenIndex`: the segments' indexes in RAM, searched for each query token's `hits` best vectors. Segments
  are merged in their plain IVF-PQ form and then converted to the fast-scan layout for search (faiss 1.15's
  merge of fast-scan indexes corrupted memory on unbalanced lists, seen in tests/test_search_cache.py), in
  parts of at most PART_VECTORS codes: those of the segments present at the last rebuild, then those of each
  later batch of new segments.
faiss is imported on first use.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pagelens.errors import StoreError

log = logging.getLogger(__name__)

TRAIN_MIN_PAGES = 256  # below this the retriever scores every page exactly: cheap, and nothing to train on
RETRAIN_GROWTH = 16
TRAIN_POINTS_PER_CELL = 64
MIN_CELLS, MAX_CELLS = 32, 1024
# cells searched per query token, of up to MAX_CELLS (16 took 1.6x the time at 100,000 pages, for the same
# recall: bench/README.md)
PROBES = 8
PART_VECTORS = 1 << 24  # codes a searchable part holds (~16.8 million, ~670 MB at 128-d)
CODEBOOK_INFO = "codebook.json"  # names the current codebook; its index is codebook-<id>.faiss


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:  # a core dependency; missing only in a broken environment
        raise StoreError(
            "search needs the faiss-cpu package (a dependency of pagelens): pip install faiss-cpu"
        ) from exc
    return faiss


def cells_for(vectors: int) -> int:
    """Inverted-list cells for a corpus of `vectors`: a power of two near its square root, within bounds."""
    wanted = max(1, int(np.sqrt(max(vectors, 1))))
    return int(min(MAX_CELLS, max(MIN_CELLS, 1 << (wanted.bit_length() - 1))))


def factory_for(dim: int, cells: int) -> str:
    """4-bit codes (searched in the fast-scan layout) of dim/2 two-dimensional sub-vectors (dim/4 bytes: 32 at
    128-d) where the dim allows, else full vectors. Measured at 1,000 pages (bench/README.md): against dim/4
    sub-vectors (16 bytes), the estimates rank well enough that the exact stage scores 64 pages instead of 104
    (real text token vectors) and 96 instead of 160 (tiny ColQwen2), for ~0.4 ms more per query."""
    if dim % 8 == 0:
        return f"IVF{cells},PQ{dim // 2}x4"
    return f"IVF{cells},Flat"


@dataclass
class Codebook:
    """A trained, empty index; `trained_on` is how many vectors the cache held when it was trained."""

    id: str
    trained_on: int
    index: Any

    @classmethod
    def train(cls, sample: np.ndarray, trained_on: int) -> Codebook:
        faiss = _faiss()
        sample = np.ascontiguousarray(sample, dtype=np.float32)
        cells = min(cells_for(trained_on), max(1, len(sample) // 39))
        index = faiss.index_factory(
            sample.shape[1], factory_for(sample.shape[1], cells), faiss.METRIC_INNER_PRODUCT
        )
        index.train(sample)
        log.info("trained a %d-cell token codebook on %d of %d vectors", cells, len(sample), trained_on)
        return cls(uuid.uuid4().hex[:12], trained_on, index)

    def save(self, folder: Path) -> None:
        """Write the index under its own id, then the file naming it: a crash between the two leaves the old
        codebook current, never another codebook's index under its id. Other codebooks' files are removed."""
        faiss = _faiss()
        temporary = folder / (_index_file(self.id) + ".tmp")
        faiss.write_index(self.index, str(temporary))
        os.replace(temporary, folder / _index_file(self.id))
        info = folder / (CODEBOOK_INFO + ".tmp")
        info.write_text(json.dumps({"id": self.id, "trained_on": self.trained_on}))
        os.replace(info, folder / CODEBOOK_INFO)
        for old in folder.glob(_index_file("*")):
            if old.name != _index_file(self.id):
                old.unlink(missing_ok=True)

    @classmethod
    def load(cls, folder: Path) -> Codebook | None:
        try:
            info = json.loads((folder / CODEBOOK_INFO).read_text())
            index = _faiss().read_index(str(folder / _index_file(str(info["id"]))))
            return cls(str(info["id"]), int(info["trained_on"]), index)
        except (OSError, ValueError, KeyError, RuntimeError):
            return None

    def empty(self) -> Any:
        return _faiss().clone_index(self.index)


def _index_file(codebook_id: str) -> str:
    return f"codebook-{codebook_id}.faiss"


def sample_rows(lengths: Sequence[int], count: int, seed: int = 0) -> np.ndarray:
    """`count` distinct global row numbers (sorted) out of pages of `lengths` rows."""
    total = int(np.sum(lengths))
    rng = np.random.default_rng(seed)
    if total <= count:
        return np.arange(total)
    return np.sort(rng.choice(total, size=count, replace=False))


def sample_size(vectors: int) -> int:
    return TRAIN_POINTS_PER_CELL * cells_for(vectors)


def encode(codebook: Codebook, page_ids: Sequence[int], pages: Sequence[np.ndarray]) -> Any:
    """An index of `codebook` holding every vector of `pages`, each with its page's id."""
    index = codebook.empty()
    if pages:
        vectors = np.ascontiguousarray(np.concatenate(pages), dtype=np.float32)
        ids = np.repeat(np.asarray(page_ids, dtype=np.int64), [len(p) for p in pages])
        index.add_with_ids(vectors, ids)
    return index


def encode_chunks(codebook: Codebook, page_ids: Sequence[int], pages: Sequence[np.ndarray]) -> Iterator[Any]:
    """`encode`, in indexes of at most PART_VECTORS vectors (whole pages; one page alone may hold more)."""
    first = vectors = 0
    for i, page in enumerate(pages):
        if vectors and vectors + len(page) > PART_VECTORS:
            yield encode(codebook, page_ids[first:i], pages[first:i])
            first, vectors = i, 0
        vectors += len(page)
    yield encode(codebook, page_ids[first:], pages[first:])


def merged_chunks(codebook: Codebook, indexes: Iterable[Any]) -> Iterator[Any]:
    """`indexes` (of `codebook`, plain layout) merged in order into indexes of at most PART_VECTORS vectors
    (more where one index alone holds more); each is emptied as it is merged. Always yields at least one."""
    merged = codebook.empty()
    for index in indexes:
        if merged.ntotal and merged.ntotal + index.ntotal > PART_VECTORS:
            yield merged
            merged = codebook.empty()
        merged.merge_from(index, 0)
    yield merged


def save_index(index: Any, path: Path) -> None:
    temporary = path.with_suffix(".tmp")
    _faiss().write_index(index, str(temporary))
    os.replace(temporary, path)


def load_index(path: Path) -> Any:
    return _faiss().read_index(str(path))


class TokenIndex:
    """Every cached vector's code under one codebook, in RAM, in a few searchable parts."""

    def __init__(self, codebook: Codebook) -> None:
        self.codebook = codebook
        self.parts: list[Any] = []
        self.batches = 0  # add_part calls so far

    def add_part(self, indexes: Iterable[Any]) -> None:
        """Merge `indexes` (of this codebook) into new parts (`merged_chunks`), in the fast-scan layout where
        it applies: converting copies a part, so bounded parts bound the memory that a reopen needs beyond
        the codes themselves."""
        self.batches += 1
        for merged in merged_chunks(self.codebook, indexes):
            if merged.ntotal or not self.parts:
                self.parts.append(_searchable(merged))
            del merged
        _release_free_memory()

    @property
    def vectors(self) -> int:
        return int(sum(part.ntotal for part in self.parts))

    def search(
        self, query: np.ndarray, hits: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, page ids), each (q, hits): every query vector's best stored vectors, best first, by
        their approximate inner product; a missing hit has page id -1. `allowed`: page ids to search within."""
        faiss = _faiss()
        params = faiss.SearchParametersIVF()
        params.nprobe = PROBES
        selector = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
            params.sel = selector
        query = np.ascontiguousarray(query, dtype=np.float32)
        hits = max(1, min(hits, self.vectors))
        found = [part.search(query, hits, params=params) for part in self.parts if part.ntotal]
        del selector
        if len(found) == 1:
            return found[0]
        ids = np.ascontiguousarray(np.stack([f[1] for f in found]))
        scores = np.ascontiguousarray(
            np.where(ids >= 0, np.stack([f[0] for f in found]), -np.inf), np.float32
        )
        return faiss.merge_knn_results(scores, ids, keep_max=True)


def _release_free_memory() -> None:
    """Hand the heap's free pages back to the OS (glibc; elsewhere a no-op): merging and converting parts
    frees as much as it keeps, and glibc keeps it (0.7 GB of a 100,000-page reopen, measured)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _searchable(index: Any) -> Any:
    """`index` in the layout it is searched in: plain IVF-PQ of 4-bit codes becomes fast-scan, a copy of its
    codes. faiss' Python wrapper keeps the plain index alive for the copy's sake (it shares its coarse
    quantizer, and keeps a pointer to its lists used only by faiss' own tests), which doubled the RAM of
    100,000 pages' codes (82 bytes a vector, measured, against 42): the copy takes over the quantizer and
    the plain index is let go."""
    faiss = _faiss()
    if not (isinstance(index, faiss.IndexIVFPQ) and index.pq.nbits == 4):
        return index
    fast = faiss.IndexIVFPQFastScan(index)
    fast.orig_invlists = None
    index.own_fields = False
    fast.own_fields = True
    fast.referenced_objects = []
    return fast
