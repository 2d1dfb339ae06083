"""The retriever's local, derived data: per-page centroids for candidate generation, and where each page's
vectors are for exact reranking.

It is a verified replica, never a second truth. Milvus (with, on Milvus Lite, the index folder's vector
files) is the truth; this cache records the index id and model it was built for, and a cache of another
index, another model, another dim or another cache version is deleted and rebuilt, never served. The
retriever also reconciles it page by page with Milvus' live pages on every refresh.

In segments on disk (a sub-folder of .npy files each, listed by `manifest.json` once complete):
- `page_ids`; `refs` (file, row, rows, crc of each page's vectors in a `VectorFiles`: the index folder's own on
  Milvus Lite, a local copy under this folder for a server, the only place a server's vectors are copied to);
- `fine`: CENTROIDS_PER_PAGE k-means centroids a page, bfloat16, memory-mapped, read only for the pages the
  coarse level keeps;
- `coarse`: COARSE_PER_PAGE centroids of those, float32: the only part the retriever holds in RAM for every
  page (4 KB a page at 128-d).
Deleting the folder is always safe: it is rebuilt from Milvus.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pagelens.errors import IndexMismatchError
from pagelens.search.pooling import CENTROIDS_PER_PAGE, page_centroids
from pagelens.store import bfloat16
from pagelens.store.vector_files import VectorFiles, VectorRef

log = logging.getLogger(__name__)

CACHE_VERSION = 4
COARSE_PER_PAGE = 8
REPLICA = "vectors"
FIELDS = ("page_ids", "refs", "fine", "coarse")
LOCK = "lock"


@dataclass(frozen=True)
class CacheIdentity:
    """What a cache was built for; any difference means it describes other vectors."""

    index_id: str
    model: str | None
    dim: int

    def as_dict(self) -> dict[str, object]:
        return {"version": CACHE_VERSION, "index_id": self.index_id, "model": self.model, "dim": self.dim}


@dataclass
class Segment:
    """Pages cached together. `refs[i]` = (file, row, rows, crc) of page i's vectors; `fine[i]` its
    CENTROIDS_PER_PAGE centroids (bfloat16 bits) and `coarse[i]` COARSE_PER_PAGE centroids of those (both
    padded by repeating a row, which leaves a max unchanged, so every page has the same shape)."""

    name: str
    page_ids: np.ndarray
    refs: np.ndarray
    fine: np.ndarray
    coarse: np.ndarray

    def ref(self, index: int) -> VectorRef:
        file, row, rows, crc = (int(v) for v in self.refs[index])
        return VectorRef(file, row, rows, crc)


def centroid_levels(page: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fine, coarse) centroids of one page's (n, dim) vectors, padded to fixed counts."""
    fine = _pad(page_centroids(page), CENTROIDS_PER_PAGE)
    coarse = _pad(page_centroids(fine, COARSE_PER_PAGE), COARSE_PER_PAGE)
    return fine, coarse


def _pad(rows: np.ndarray, count: int) -> np.ndarray:
    if len(rows) >= count:
        return rows[:count]
    return np.concatenate([rows, np.repeat(rows[:1], count - len(rows), axis=0)])


class VectorCache:
    """Segments in `folder` for the index `identity`. `vectors` is where page vectors are read from; when it
    is None (a server index) the cache keeps its own copy in `folder/vectors`."""

    def __init__(self, folder: Path, identity: CacheIdentity, vectors: VectorFiles | None = None) -> None:
        self.folder, self._lock_fd, self._private = _claim(folder)
        self.identity = identity
        self.segments: list[Segment] = []
        self._load()
        self.owns_vectors = vectors is None
        if vectors is None:
            try:
                vectors = VectorFiles.open(
                    self.folder / REPLICA, identity.dim, identity.index_id, durable=False
                )
            except IndexMismatchError:  # a copy of another index's vectors: the manifest check missed it
                self.clear()
                vectors = VectorFiles.open(
                    self.folder / REPLICA, identity.dim, identity.index_id, durable=False
                )
        self.vectors = vectors

    @property
    def _manifest(self) -> Path:
        return self.folder / "manifest.json"

    def _load(self) -> None:
        try:
            manifest = json.loads(self._manifest.read_text())
            recorded = {key: manifest.get(key) for key in self.identity.as_dict()}
            if recorded != self.identity.as_dict():
                raise ValueError(f"it was built for {recorded}, not {self.identity.as_dict()}")
            for name in manifest["segments"]:
                arrays = {f: np.load(self.folder / name / f"{f}.npy", mmap_mode="r") for f in FIELDS}
                self.segments.append(Segment(name=name, **arrays))
        except FileNotFoundError:  # no manifest yet, or one naming missing segments: start afresh
            self.clear()
        except (ValueError, OSError, KeyError, TypeError) as exc:
            log.info("rebuilding the search cache in %s: %s", self.folder, exc)
            self.clear()

    def _write_manifest(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self._manifest.with_suffix(".tmp")
        payload = {**self.identity.as_dict(), "segments": [s.name for s in self.segments]}
        temporary.write_text(json.dumps(payload))
        os.replace(temporary, self._manifest)  # atomic: a crash leaves the old or the new list

    def add(
        self,
        page_ids: Sequence[int],
        pages: Sequence[np.ndarray],
        refs: Sequence[VectorRef] | None = None,
        levels: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> Segment | None:
        """Cache pages. `refs`: where their vectors already are in `self.vectors` (None: copy them there).
        `levels`: their centroids when already computed (compaction)."""
        if not page_ids:
            return None
        if refs is None:
            refs = self.vectors.append(list(pages))
        if levels is None:
            levels = [centroid_levels(np.asarray(p, dtype=np.float32)) for p in pages]
        name = uuid.uuid4().hex[:12]
        arrays = {
            "page_ids": np.asarray(page_ids, dtype=np.int64),
            "refs": np.array([[r.file, r.row, r.rows, r.crc] for r in refs], dtype=np.int64).reshape(-1, 4),
            "fine": np.stack([bfloat16.encode(f) for f, _ in levels]),
            "coarse": np.stack([c for _, c in levels]).astype(np.float32),
        }
        target = self.folder / name
        target.mkdir(parents=True, exist_ok=True)
        for field, array in arrays.items():
            np.save(target / f"{field}.npy", array)
        # keep the memory-mapped copy, not the arrays just built: the OS pages them in and out as needed
        segment = Segment(name=name, **{f: np.load(target / f"{f}.npy", mmap_mode="r") for f in FIELDS})
        self.segments.append(segment)
        self._write_manifest()
        return segment

    def page_ids(self) -> np.ndarray:
        if not self.segments:
            return np.empty(0, dtype=np.int64)
        return np.concatenate([s.page_ids for s in self.segments])

    def compact(self, keep: dict[int, tuple[int, int]]) -> None:
        """Rewrite the segments into one keeping only the entries `keep` names (page id -> (segment, row)), once
        dead pages waste space or segments pile up; a cache that keeps its own vector copy rewrites that too.
        Streams into the new segment's memory-mapped files: memory stays flat whatever the page count."""
        entries = sorted(keep.items(), key=lambda item: item[1])
        old_segments = [s.name for s in self.segments]
        old_files = self.vectors.file_numbers() if self.owns_vectors else []
        if not entries:
            self.segments = []
            self._write_manifest()
        else:
            refs = [self.segments[s_index].ref(row) for _, (s_index, row) in entries]
            if self.owns_vectors:
                refs = self.vectors.copy_to_new_files(refs, (old_files[-1] + 1) if old_files else 0)
            name = uuid.uuid4().hex[:12]
            target = self.folder / name
            target.mkdir(parents=True, exist_ok=True)
            first = self.segments[entries[0][1][0]]
            count = len(entries)
            arrays = {
                "page_ids": np.asarray([page_id for page_id, _ in entries], dtype=np.int64),
                "refs": np.array([[r.file, r.row, r.rows, r.crc] for r in refs], dtype=np.int64).reshape(
                    -1, 4
                ),
            }
            for field, array in arrays.items():
                np.save(target / f"{field}.npy", array)
            for field in ("fine", "coarse"):
                sample = getattr(first, field)
                out = np.lib.format.open_memmap(
                    target / f"{field}.npy", mode="w+", dtype=sample.dtype, shape=(count, *sample.shape[1:])
                )
                for position, (_, (s_index, row)) in enumerate(entries):
                    out[position] = getattr(self.segments[s_index], field)[row]
                out.flush()
                del out
            self.segments = [
                Segment(name=name, **{f: np.load(target / f"{f}.npy", mmap_mode="r") for f in FIELDS})
            ]
            self._write_manifest()
        for old in old_segments:
            shutil.rmtree(self.folder / old, ignore_errors=True)
        if old_files:
            self.vectors.remove_files(old_files)

    def clear(self) -> None:
        """Delete every segment and copy (not the lock file: this process keeps its claim on the folder)."""
        self.segments = []
        self.folder.mkdir(parents=True, exist_ok=True)
        for child in self.folder.iterdir():
            if child.name == LOCK:
                continue
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)

    def close(self) -> None:
        """Release the folder (a private one, used while another process held the shared one, is deleted)."""
        if self.owns_vectors:
            self.vectors.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        if self._private:
            shutil.rmtree(self.folder, ignore_errors=True)


def _claim(folder: Path) -> tuple[Path, int | None, bool]:
    """One process at a time writes a cache folder: take its lock, or, while another process holds it (two
    processes searching one server index on one machine), work in a private folder beside it."""
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return folder, fd, False
    except BlockingIOError:
        os.close(fd)
    private = folder.with_name(f"{folder.name}.pid{os.getpid()}")
    shutil.rmtree(private, ignore_errors=True)
    log.info("%s is in use by another process; this one caches in %s", folder, private)
    private.mkdir(parents=True)
    return private, None, True
