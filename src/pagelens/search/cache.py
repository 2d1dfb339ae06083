"""The retriever's local, derived data: where each page's vectors are, for exact scoring, and every vector's
code in the token index (token_index.py), for candidate generation.

It is a verified replica, never a second truth. Milvus (with, on Milvus Lite, the index folder's vector
files) is the truth; this cache records the index id and model it was built for, and a cache of another
index, another model, another dim or another cache version is deleted and rebuilt, never served. The
retriever also reconciles it page by page with Milvus' live pages on every refresh.

In segments on disk (a sub-folder each, listed by `manifest.json` once complete):
- `page_ids`, `refs` (.npy: file, row, rows, crc of each page's vectors in a `VectorFiles`: the index folder's
  own on Milvus Lite, a local copy under this folder for a server, the only place a server's vectors are
  copied to);
- `tokens-<codebook id>-<n>.faiss`: the segment's vectors encoded with the cache's codebook
  (`codebook-<id>.faiss`), once one is trained, in chunks of at most token_index.PART_VECTORS codes so that
  no step holds more than one chunk beside what it keeps; `tokens-<codebook id>.json`, written last, counts
  them. A segment whose codes are missing, incomplete or of another codebook is encoded again from its
  vectors.
Deleting the folder is always safe: it is rebuilt from Milvus.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pagelens.errors import IndexMismatchError
from pagelens.search import token_index
from pagelens.search.token_index import Codebook
from pagelens.store import bfloat16
from pagelens.store.vector_files import VectorFiles, VectorRef

log = logging.getLogger(__name__)

CACHE_VERSION = 5
REPLICA = "vectors"
FIELDS = ("page_ids", "refs")
LOCK = "lock"
ENCODE_PAGES = 512  # pages read and encoded at a time when a segment is encoded again


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
    """Pages cached together. `refs[i]` = (file, row, rows, crc) of page i's vectors."""

    name: str
    page_ids: np.ndarray
    refs: np.ndarray

    def ref(self, index: int) -> VectorRef:
        file, row, rows, crc = (int(v) for v in self.refs[index])
        return VectorRef(file, row, rows, crc)

    def refs_list(self) -> list[VectorRef]:
        return [self.ref(i) for i in range(len(self.page_ids))]

    @property
    def vector_count(self) -> int:
        return int(self.refs[:, 2].sum()) if len(self.refs) else 0


class VectorCache:
    """Segments in `folder` for the index `identity`. `vectors` is where page vectors are read from; when it
    is None (a server index) the cache keeps its own copy in `folder/vectors`."""

    def __init__(self, folder: Path, identity: CacheIdentity, vectors: VectorFiles | None = None) -> None:
        self.folder, self._lock_fd, self._private = _claim(folder)
        self.identity = identity
        self.segments: list[Segment] = []
        self.codebook: Codebook | None = None
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
            codebook = Codebook.load(self.folder)
            if codebook is not None and codebook.id == manifest.get("codebook"):
                self.codebook = codebook
        except FileNotFoundError:  # no manifest yet, or one naming missing segments: start afresh
            self.clear()
        except (ValueError, OSError, KeyError, TypeError) as exc:
            log.info("rebuilding the search cache in %s: %s", self.folder, exc)
            self.clear()

    def _write_manifest(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self._manifest.with_suffix(".tmp")
        payload = {
            **self.identity.as_dict(),
            "segments": [s.name for s in self.segments],
            "codebook": self.codebook.id if self.codebook else None,
        }
        temporary.write_text(json.dumps(payload))
        os.replace(temporary, self._manifest)  # atomic: a crash leaves the old or the new list

    # ---- segments ---------------------------------------------------------------------------------------
    def add(
        self,
        page_ids: Sequence[int],
        pages: Sequence[np.ndarray],
        refs: Sequence[VectorRef] | None = None,
    ) -> Segment | None:
        """Cache pages. `refs`: where their vectors already are in `self.vectors` (None: copy them there).
        `pages` may be empty when `refs` is given (the same vectors at a new place): they are read back."""
        if not page_ids:
            return None
        if refs is None:
            refs = self.vectors.append(list(pages))
        name = uuid.uuid4().hex[:12]
        arrays = {
            "page_ids": np.asarray(page_ids, dtype=np.int64),
            "refs": np.array([[r.file, r.row, r.rows, r.crc] for r in refs], dtype=np.int64).reshape(-1, 4),
        }
        target = self.folder / name
        target.mkdir(parents=True, exist_ok=True)
        for field, array in arrays.items():
            np.save(target / f"{field}.npy", array)
        # keep the memory-mapped copy, not the arrays just built: the OS pages them in and out as needed
        segment = Segment(name=name, **{f: np.load(target / f"{f}.npy", mmap_mode="r") for f in FIELDS})
        if self.codebook is not None and pages:
            self._write_tokens(segment, token_index.encode_chunks(self.codebook, list(page_ids), list(pages)))
        elif self.codebook is not None:
            self._encode_again(segment)
        self.segments.append(segment)
        self._write_manifest()
        return segment

    def page_ids(self) -> np.ndarray:
        if not self.segments:
            return np.empty(0, dtype=np.int64)
        return np.concatenate([s.page_ids for s in self.segments])

    # ---- token codes ------------------------------------------------------------------------------------
    def tokens_paths(self, segment: Segment) -> list[Path] | None:
        """The segment's token codes under the current codebook, in chunks of at most PART_VECTORS codes
        (None: no codebook yet, or the codes are not all written). `tokens-<codebook>.json`, written last,
        says how many chunks there are."""
        if self.codebook is None:
            return None
        folder = self.folder / segment.name
        try:
            chunks = int(json.loads((folder / f"tokens-{self.codebook.id}.json").read_text())["chunks"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        paths = [folder / f"tokens-{self.codebook.id}-{i}.faiss" for i in range(chunks)]
        return paths if all(path.exists() for path in paths) else None

    def _write_tokens(self, segment: Segment, chunks: Iterable[object]) -> None:
        """Save each index `chunks` yields (one in RAM at a time), then the file that makes them current."""
        if self.codebook is None:
            return
        folder = self.folder / segment.name
        count = 0
        for index in chunks:
            token_index.save_index(index, folder / f"tokens-{self.codebook.id}-{count}.faiss")
            count += 1
        marker = folder / f"tokens-{self.codebook.id}.json"
        temporary = marker.with_suffix(".tmp")
        temporary.write_text(json.dumps({"chunks": count}))
        os.replace(temporary, marker)

    def vector_count(self) -> int:
        return sum(s.vector_count for s in self.segments)

    def maintain_codebook(self, live_pages: int) -> None:
        """Train the codebook once the cache holds TRAIN_MIN_PAGES live pages, and again once it has grown
        RETRAIN_GROWTH-fold since; encode every segment whose codes are missing or of another codebook."""
        total = self.vector_count()
        due = (self.codebook is None and live_pages >= token_index.TRAIN_MIN_PAGES) or (
            self.codebook is not None and total >= token_index.RETRAIN_GROWTH * self.codebook.trained_on
        )
        if due and total:
            self.codebook = Codebook.train(self._sample(token_index.sample_size(total)), total)
            self.codebook.save(self.folder)
        changed = due
        for segment in self.segments:
            if self.codebook is not None and self.tokens_paths(segment) is None:
                self._encode_again(segment)
                changed = True
        if changed:
            self._write_manifest()
            self._remove_stale_tokens()

    def _sample(self, count: int) -> np.ndarray:
        """`count` cached vectors drawn evenly at random (float32), each read alone (a training sample of a
        large index touches a row or two of most pages: reading whole pages would read the index)."""
        refs = [ref for segment in self.segments for ref in segment.refs_list()]
        rows = token_index.sample_rows([r.rows for r in refs], count)
        starts = np.concatenate([[0], np.cumsum([r.rows for r in refs])])
        pages = np.searchsorted(starts, rows, side="right") - 1
        bits = np.empty((len(rows), self.identity.dim), dtype=bfloat16.STORED)
        readable = np.ones(len(rows), dtype=bool)
        for i, (page, row) in enumerate(zip(pages.tolist(), (rows - starts[pages]).tolist(), strict=True)):
            ref = refs[page]
            try:
                self.vectors.read_into(VectorRef(ref.file, ref.row + row, 1, 0), bits[i : i + 1])
            except (OSError, ValueError):  # a damaged page: the retriever leaves it out with a reason
                readable[i] = False
        return bfloat16.decode(bits[readable])

    def _encode_again(self, segment: Segment) -> None:
        """Encode the segment's vectors, read back from disk, a chunk at a time."""
        self._write_tokens(segment, self._encoded(segment))

    def _encoded(self, segment: Segment) -> Iterator[object]:
        assert self.codebook is not None
        index = self.codebook.empty()
        refs = segment.refs_list()
        page_ids = segment.page_ids.astype(np.int64)
        first = 0
        while first < len(refs):
            room = token_index.PART_VECTORS - index.ntotal
            if index.ntotal and refs[first].rows > room:  # this chunk is full
                yield index
                index = self.codebook.empty()
                continue
            last, rows = first + 1, refs[first].rows  # whole pages, up to ENCODE_PAGES, that fit the chunk
            while last < len(refs) and last - first < ENCODE_PAGES and rows + refs[last].rows <= room:
                rows += refs[last].rows
                last += 1
            self._encode_into(index, refs[first:last], page_ids[first:last])
            first = last
        yield index

    def _encode_into(self, index: Any, refs: Sequence[VectorRef], page_ids: np.ndarray) -> None:
        try:
            bits, offsets = self.vectors.gather_bits(refs)
        except (OSError, ValueError):  # a damaged page among them: encode the readable ones one by one
            for ref, page_id in zip(refs, page_ids.tolist(), strict=True):
                try:
                    vectors = self.vectors.read(ref)
                except (OSError, ValueError):
                    continue
                index.add_with_ids(vectors, np.full(len(vectors), page_id, dtype=np.int64))
            return
        index.add_with_ids(bfloat16.decode(bits), np.repeat(page_ids, np.diff(offsets)))

    def _remove_stale_tokens(self) -> None:
        current = f"tokens-{self.codebook.id}" if self.codebook else None
        for segment in self.segments:
            for path in (self.folder / segment.name).glob("tokens-*"):
                if current is None or not (
                    path.name == f"{current}.json" or path.name.startswith(f"{current}-")
                ):
                    path.unlink(missing_ok=True)

    # ---- compaction -------------------------------------------------------------------------------------
    def compact(self, keep: dict[int, tuple[int, int]]) -> None:
        """Rewrite the segments into one keeping only the entries `keep` names (page id -> (segment, row)), once
        dead pages waste space or segments pile up; a cache that keeps its own vector copy rewrites that too.
        The token codes of the kept pages are merged from the old segments, not encoded again."""
        entries = sorted(keep.items(), key=lambda item: item[1])
        old_segments = list(self.segments)
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
            page_ids = np.asarray([page_id for page_id, _ in entries], dtype=np.int64)
            arrays = {
                "page_ids": page_ids,
                "refs": np.array([[r.file, r.row, r.rows, r.crc] for r in refs], dtype=np.int64).reshape(
                    -1, 4
                ),
            }
            for field, array in arrays.items():
                np.save(target / f"{field}.npy", array)
            segment = Segment(name=name, **{f: np.load(target / f"{f}.npy", mmap_mode="r") for f in FIELDS})
            if self.codebook is not None:
                self._write_tokens(segment, self._merged_tokens(old_segments, page_ids))
            self.segments = [segment]
            self._write_manifest()
        for old in old_segments:
            shutil.rmtree(self.folder / old.name, ignore_errors=True)
        if old_files:
            self.vectors.remove_files(old_files)

    def _merged_tokens(self, segments: Sequence[Segment], keep: np.ndarray) -> Iterator[object]:
        """The codes of `keep` page ids, from the segments' token files (a segment without current codes is
        encoded from its vectors), in chunks of at most PART_VECTORS codes (token_index.merged_chunks)."""
        assert self.codebook is not None
        return token_index.merged_chunks(self.codebook, self._kept_codes(segments, keep))

    def _kept_codes(self, segments: Sequence[Segment], keep: np.ndarray) -> Iterator[object]:
        """Each token file of `segments` that holds a page of `keep`, loaded, holding only those pages' codes."""
        faiss = token_index._faiss()
        wanted = set(keep.tolist())
        for segment in segments:
            if not wanted.intersection(segment.page_ids.tolist()):
                continue
            paths = self.tokens_paths(segment)
            if paths is None:
                self._encode_again(segment)
                paths = self.tokens_paths(segment)
            for path in paths or []:
                part = token_index.load_index(path)
                part.remove_ids(faiss.IDSelectorNot(faiss.IDSelectorBatch(keep)))
                yield part

    def clear(self) -> None:
        """Delete every segment and copy (not the lock file: this process keeps its claim on the folder)."""
        self.segments = []
        self.codebook = None
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
