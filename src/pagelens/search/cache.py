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
- `tokens-<codebook id>.faiss`: the segment's vectors encoded with the cache's codebook (`codebook.faiss`),
  once one is trained; a segment whose file names another codebook is encoded again from its vectors.
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
            self._write_tokens(segment, token_index.encode(self.codebook, list(page_ids), list(pages)))
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
    def tokens_path(self, segment: Segment) -> Path | None:
        """The segment's token codes under the current codebook (None: no codebook yet)."""
        if self.codebook is None:
            return None
        return self.folder / segment.name / f"tokens-{self.codebook.id}.faiss"

    def _write_tokens(self, segment: Segment, index: object) -> None:
        path = self.tokens_path(segment)
        if path is not None:
            token_index.save_index(index, path)

    def vector_count(self) -> int:
        return sum(s.vector_count for s in self.segments)

    def maintain_codebook(self, live_pages: int) -> bool:
        """Train the codebook once the cache holds TRAIN_MIN_PAGES live pages, and again once it has grown
        RETRAIN_GROWTH-fold since; encode every segment whose codes are missing or of another codebook.
        Returns whether any codes changed."""
        total = self.vector_count()
        due = (self.codebook is None and live_pages >= token_index.TRAIN_MIN_PAGES) or (
            self.codebook is not None and total >= token_index.RETRAIN_GROWTH * self.codebook.trained_on
        )
        if due and total:
            self.codebook = Codebook.train(self._sample(token_index.sample_size(total)), total)
            self.codebook.save(self.folder)
        changed = due
        for segment in self.segments:
            path = self.tokens_path(segment)
            if path is not None and not path.exists():
                self._encode_again(segment)
                changed = True
        if changed:
            self._write_manifest()
            self._remove_stale_tokens()
        return changed

    def _sample(self, count: int) -> np.ndarray:
        """`count` cached vectors drawn evenly at random (float32)."""
        refs = [ref for segment in self.segments for ref in segment.refs_list()]
        rows = token_index.sample_rows([r.rows for r in refs], count)
        starts = np.concatenate([[0], np.cumsum([r.rows for r in refs])])
        pages = np.searchsorted(starts, rows, side="right") - 1
        out = np.empty((len(rows), self.identity.dim), dtype=np.float32)
        readable = np.ones(len(rows), dtype=bool)
        for page in np.unique(pages).tolist():
            where = np.flatnonzero(pages == page)
            try:
                out[where] = self.vectors.read(refs[page])[rows[where] - starts[page]]
            except (OSError, ValueError):  # a damaged page: the retriever leaves it out with a reason
                readable[where] = False
        return out[readable]

    def _encode_again(self, segment: Segment) -> None:
        assert self.codebook is not None
        index = self.codebook.empty()
        refs = segment.refs_list()
        page_ids = segment.page_ids.astype(np.int64)
        for first in range(0, len(refs), ENCODE_PAGES):
            batch = refs[first : first + ENCODE_PAGES]
            try:
                bits, offsets = self.vectors.gather_bits(batch)
            except (OSError, ValueError):  # a damaged page among them: encode the readable ones one by one
                for offset, ref in enumerate(batch):
                    try:
                        vectors = self.vectors.read(ref)
                    except (OSError, ValueError):
                        continue
                    index.add_with_ids(vectors, np.full(len(vectors), page_ids[first + offset]))
                continue
            ids = np.repeat(page_ids[first : first + len(batch)], np.diff(offsets))
            index.add_with_ids(bfloat16.decode(bits), ids)
        self._write_tokens(segment, index)

    def _remove_stale_tokens(self) -> None:
        for segment in self.segments:
            current = self.tokens_path(segment)
            for path in (self.folder / segment.name).glob("tokens-*.faiss"):
                if path != current:
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

    def _merged_tokens(self, segments: Sequence[Segment], keep: np.ndarray) -> object:
        """One index of the codes of `keep` page ids, from the segments' token files (a segment without
        current codes is encoded from its vectors)."""
        assert self.codebook is not None
        faiss = token_index._faiss()
        merged = self.codebook.empty()
        wanted = set(keep.tolist())
        for segment in segments:
            if not wanted.intersection(segment.page_ids.tolist()):
                continue
            path = self.tokens_path(segment)
            if path is None or not path.exists():
                self._encode_again(segment)
            assert path is not None
            part = token_index.load_index(path)
            part.remove_ids(faiss.IDSelectorNot(faiss.IDSelectorBatch(keep)))
            merged.merge_from(part, 0)
        return merged

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
