"""pagelens' local copy of the stored vectors, for fast candidate generation and exact reranking.

Milvus is the source of truth; this is a cache of it, in segments on disk (memory-mapped float32 page
vectors plus float32 centroids at two granularities), under the index's local folder. The retriever decides which cached pages
are live from Milvus, fetches what the cache lacks and never serves a page Milvus lacks. Deleting the
folder is always safe: it is rebuilt from Milvus.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pagelens.search.pooling import CENTROIDS_PER_PAGE, page_centroids

log = logging.getLogger(__name__)

CACHE_VERSION = 3
COARSE_PER_PAGE = 8


@dataclass
class Segment:
    """Pages written together: page i's vectors are vectors[offsets[i]:offsets[i+1]]; `fine[i]` holds its
    CENTROIDS_PER_PAGE centroids and `coarse[i]` COARSE_PER_PAGE centroids of those (both padded by
    repeating a row, which leaves a max unchanged, so every page has the same shape)."""

    name: str
    page_ids: np.ndarray
    offsets: np.ndarray
    vectors: np.ndarray
    fine: np.ndarray
    coarse: np.ndarray

    @classmethod
    def build(cls, name: str, page_ids: list[int], pages: list[np.ndarray]) -> Segment:
        offsets = np.zeros(len(pages) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in pages], out=offsets[1:])
        fine = np.stack([_pad(page_centroids(p), CENTROIDS_PER_PAGE) for p in pages])
        coarse = np.stack([_pad(page_centroids(f, COARSE_PER_PAGE), COARSE_PER_PAGE) for f in fine])
        return cls(
            name=name,
            page_ids=np.asarray(page_ids, dtype=np.int64),
            offsets=offsets,
            # the float16 values Milvus stores, widened once here: exact scoring then needs no conversion
            # (numpy's float16 -> float32 costs more than the MaxSim matmul itself)
            vectors=np.concatenate(pages).astype(np.float16).astype(np.float32),
            fine=fine.astype(np.float32),
            coarse=coarse.astype(np.float32),
        )

    def page_vectors(self, index: int) -> np.ndarray:
        return self.vectors[self.offsets[index] : self.offsets[index + 1]]


def _pad(rows: np.ndarray, count: int) -> np.ndarray:
    if len(rows) >= count:
        return rows[:count]
    return np.concatenate([rows, np.repeat(rows[:1], count - len(rows), axis=0)])


FIELDS = ("page_ids", "offsets", "vectors", "fine", "coarse")


class VectorCache:
    """Segments in `folder`, each a sub-folder of .npy files; `manifest.json` lists the complete ones."""

    def __init__(self, folder: Path, dim: int) -> None:
        self.folder = folder
        self.dim = dim
        self.segments: list[Segment] = []
        self._load()

    @property
    def _manifest(self) -> Path:
        return self.folder / "manifest.json"

    def _load(self) -> None:
        try:
            manifest = json.loads(self._manifest.read_text())
            if manifest.get("version") != CACHE_VERSION or manifest.get("dim") != self.dim:
                raise ValueError("cache written by another version or for another dim")
            for name in manifest["segments"]:
                arrays = {f: np.load(self.folder / name / f"{f}.npy", mmap_mode="r") for f in FIELDS}
                self.segments.append(Segment(name=name, **arrays))
        except FileNotFoundError:
            self.segments = []
        except (ValueError, OSError, KeyError) as exc:
            log.info("rebuilding the vector cache in %s: %s", self.folder, exc)
            self.segments = []
            shutil.rmtree(self.folder, ignore_errors=True)

    def _write_manifest(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self._manifest.with_suffix(".tmp")
        payload = {"version": CACHE_VERSION, "dim": self.dim, "segments": [s.name for s in self.segments]}
        temporary.write_text(json.dumps(payload))
        os.replace(temporary, self._manifest)  # atomic: a crash leaves the old or the new list

    def add(self, page_ids: list[int], pages: list[np.ndarray]) -> Segment | None:
        if not pages:
            return None
        segment = Segment.build(uuid.uuid4().hex[:12], page_ids, pages)
        target = self.folder / segment.name
        target.mkdir(parents=True, exist_ok=True)
        for field in FIELDS:
            np.save(target / f"{field}.npy", getattr(segment, field))
        # keep the memory-mapped copy, not the arrays just built: the OS pages them in and out as needed
        segment = Segment(
            name=segment.name, **{f: np.load(target / f"{f}.npy", mmap_mode="r") for f in FIELDS}
        )
        self.segments.append(segment)
        self._write_manifest()
        return segment

    def page_ids(self) -> np.ndarray:
        if not self.segments:
            return np.empty(0, dtype=np.int64)
        return np.concatenate([s.page_ids for s in self.segments])

    def compact(self, live: set[int]) -> None:
        """Rewrite the segments keeping only `live` pages (once dead pages waste space, or segments pile up)."""
        page_ids: list[int] = []
        pages: list[np.ndarray] = []
        seen: set[int] = set()
        for segment in self.segments:
            for index, page_id in enumerate(segment.page_ids.tolist()):
                if page_id in live and page_id not in seen:
                    seen.add(page_id)
                    page_ids.append(page_id)
                    pages.append(np.array(segment.page_vectors(index)))
        old = [s.name for s in self.segments]
        self.segments = []
        if pages:
            self.add(page_ids, pages)
        else:
            self._write_manifest()
        for name in old:
            shutil.rmtree(self.folder / name, ignore_errors=True)

    def clear(self) -> None:
        self.segments = []
        shutil.rmtree(self.folder, ignore_errors=True)
