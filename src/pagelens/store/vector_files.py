"""Page vectors as append-only bfloat16 files on local disk, read on demand (never all in RAM).

A page's (n, dim) vectors are n consecutive bfloat16 rows (see bfloat16.py) in one file `NNNNN.bf16`. Appending
writes the rows and fsyncs them (when `durable`) before it returns their `VectorRef`s: whatever row refers to
a page (a Milvus row on Milvus Lite, the local replica's manifest on a server) is written after its bytes are
on disk, so a reference never points at bytes that were lost. A crash mid-append leaves unreferenced bytes at a
file's tail; the next append starts at the last whole row. Reads use `pread` into a fresh buffer: the OS page
cache keeps hot pages, and this process' memory does not grow with the index (a memory map would count every
page it ever touched in the process' RSS).

`identity.json` names the index the files belong to; `VectorFiles.open` refuses or clears files of another
index (IndexMismatchError).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pagelens.errors import IndexMismatchError
from pagelens.store import bfloat16

log = logging.getLogger(__name__)

DTYPE = bfloat16.STORED
SUFFIX = ".bf16"
FILE_LIMIT = 1 << 31  # bytes: a new file starts after this
IDENTITY = "identity.json"
REF_PREFIX = "bf16"


@dataclass(frozen=True)
class VectorRef:
    """Where a page's vectors are: `rows` bfloat16 rows from row `row` of file `file`; `crc` is the CRC-32 of
    their bytes."""

    file: int
    row: int
    rows: int
    crc: int

    def encode(self) -> str:
        return f"{REF_PREFIX} {self.file} {self.row} {self.rows} {self.crc}"

    @classmethod
    def decode(cls, text: str) -> VectorRef | None:
        """The ref written by `encode`, or None when `text` is not one."""
        parts = text.split(" ")
        if len(parts) != 5 or parts[0] != REF_PREFIX:
            return None
        try:
            return cls(int(parts[1]), int(parts[2]), int(parts[3]), int(parts[4]))
        except ValueError:
            return None


class VectorFiles:
    """Append-only bfloat16 vector files in `folder`, all of dimension `dim`, belonging to index `index_id`."""

    def __init__(self, folder: Path, dim: int, index_id: str, *, durable: bool = True) -> None:
        self.folder = folder
        self.dim = dim
        self.index_id = index_id
        self.durable = durable
        self.row_bytes = dim * DTYPE.itemsize
        self._fds: dict[int, int] = {}
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls, folder: Path, dim: int, index_id: str, *, durable: bool = True, clear_foreign: bool = False
    ) -> VectorFiles:
        """Open (or start) the files of index `index_id`. Files of another index (or dim) raise
        IndexMismatchError, or are deleted first when `clear_foreign` (they are then known to be unreferenced)."""
        identity = folder / IDENTITY
        try:
            recorded = json.loads(identity.read_text())
        except FileNotFoundError:
            recorded = None
        except (OSError, ValueError):
            recorded = {}
        expected = {"index_id": index_id, "dim": dim, "dtype": "bfloat16"}
        if recorded is not None and recorded != expected:
            if not clear_foreign:
                raise IndexMismatchError(
                    f"{folder} holds vectors of index {recorded.get('index_id')!r} "
                    f"({recorded.get('dim')}-d), not of index {index_id!r} ({dim}-d)"
                )
            log.warning("deleting vector files of another index in %s", folder)
            shutil.rmtree(folder, ignore_errors=True)
            recorded = None
        files = cls(folder, dim, index_id, durable=durable)
        if recorded is None:
            folder.mkdir(parents=True, exist_ok=True)
            temporary = identity.with_suffix(".tmp")
            temporary.write_text(json.dumps(expected))
            os.replace(temporary, identity)
            files._sync_folder()
        return files

    # ---- writing ----------------------------------------------------------------------------------------
    def _path(self, number: int) -> Path:
        return self.folder / f"{number:05d}{SUFFIX}"

    def _numbers(self) -> list[int]:
        return sorted(int(p.stem) for p in self.folder.glob(f"*{SUFFIX}") if p.stem.isdigit())

    def _sync_folder(self) -> None:
        if not self.durable:
            return
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def append(self, pages: Sequence[np.ndarray]) -> list[VectorRef]:
        """Write pages (each (n, dim) floats) as bfloat16; return their refs once the bytes are durable."""
        if not pages:
            return []
        blobs = [bfloat16.encode(p) for p in pages]
        for blob in blobs:
            if blob.ndim != 2 or blob.shape[1] != self.dim:
                raise ValueError(f"expected (n, {self.dim}) vectors, got {blob.shape}")
        with self._lock:
            numbers = self._numbers()
            number = numbers[-1] if numbers else 0
            path = self._path(number)
            size = path.stat().st_size if path.exists() else 0
            if size >= FILE_LIMIT:
                number, size = number + 1, 0
                path = self._path(number)
            created = not path.exists()
            refs: list[VectorRef] = []
            with path.open("r+b" if not created else "wb") as handle:
                row = size // self.row_bytes
                handle.truncate(row * self.row_bytes)  # drop a partial row a crash left behind
                handle.seek(row * self.row_bytes)
                for blob in blobs:
                    handle.write(blob.data)
                    refs.append(VectorRef(number, row, len(blob), zlib.crc32(blob.data)))
                    row += len(blob)
                handle.flush()
                if self.durable:
                    os.fsync(handle.fileno())
            if created:
                self._sync_folder()
        return refs

    # ---- reading ----------------------------------------------------------------------------------------
    def _fd(self, number: int) -> int:
        fd = self._fds.get(number)
        if fd is None:
            fd = os.open(self._path(number), os.O_RDONLY)
            self._fds[number] = fd
        return fd

    def _close_fd(self, number: int) -> None:
        fd = self._fds.pop(number, None)
        if fd is not None:
            os.close(fd)

    def read(self, ref: VectorRef, *, verify: bool = True) -> np.ndarray:
        """A page's (rows, dim) vectors as float32 (a new array). `verify` checks the CRC (ValueError if bad)."""
        out = np.empty((ref.rows, self.dim), dtype=DTYPE)
        self.read_into(ref, out)
        if verify and zlib.crc32(out.data) != ref.crc:
            raise ValueError(f"vectors at {ref.encode()} in {self.folder} do not match their checksum")
        return bfloat16.decode(out)

    def gather(self, refs: Sequence[VectorRef]) -> tuple[np.ndarray, np.ndarray]:
        """Several pages' vectors as one float32 (total, dim) array and the offsets of each page in it (page i
        is rows offsets[i]:offsets[i+1]); read in file order, one pread per page."""
        bits, offsets = self.gather_bits(refs)
        return bfloat16.decode(bits), offsets

    def gather_bits(self, refs: Sequence[VectorRef]) -> tuple[np.ndarray, np.ndarray]:
        """`gather`, as stored: bfloat16 bits (uint16), for scoring that widens them block by block."""
        offsets = np.zeros(len(refs) + 1, dtype=np.int64)
        np.cumsum([r.rows for r in refs], out=offsets[1:])
        bits = np.empty((int(offsets[-1]), self.dim), dtype=DTYPE)
        for index in sorted(range(len(refs)), key=lambda i: (refs[i].file, refs[i].row)):
            self.read_into(refs[index], bits[offsets[index] : offsets[index + 1]])
        return bits, offsets

    def read_pages_into(self, refs: Sequence[VectorRef], out: np.ndarray) -> None:
        """Fill `out` with the stored bits of several pages, their rows one after another, in the order given."""
        row = 0
        for ref in refs:
            self.read_into(ref, out[row : row + ref.rows])
            row += ref.rows

    def read_into(self, ref: VectorRef, out: np.ndarray) -> None:
        """Fill `out` ((rows, dim) bfloat16 bits, contiguous) with the page's stored vectors."""
        nbytes = ref.rows * self.row_bytes
        view = out.data.cast("B")
        with self._lock:
            fd = self._fd(ref.file)
        done = 0
        while done < nbytes:
            count = os.preadv(fd, [view[done:]], ref.row * self.row_bytes + done)
            if count <= 0:
                raise ValueError(f"vectors at {ref} in {self.folder} are cut short")
            done += count

    def copy_to_new_files(self, refs: Sequence[VectorRef], start: int, batch: int = 256) -> list[VectorRef]:
        """Copy the pages at `refs` into files numbered from `start` on (compaction); their new refs, in order.
        The old files stay until the caller removes them, once nothing refers to them."""
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            numbers = self._numbers()
            if not numbers or numbers[-1] < start:
                self._path(start).touch()
        moved: list[VectorRef] = []
        for first in range(0, len(refs), batch):
            moved.extend(self.append([self.read(r) for r in refs[first : first + batch]]))
        return moved

    def bytes_on_disk(self) -> int:
        return sum(self._path(n).stat().st_size for n in self._numbers())

    def close(self) -> None:
        with self._lock:
            for number in list(self._fds):
                self._close_fd(number)

    def remove_files(self, numbers: Sequence[int]) -> None:
        with self._lock:
            for number in numbers:
                self._close_fd(number)
                self._path(number).unlink(missing_ok=True)

    def file_numbers(self) -> list[int]:
        return self._numbers()

    def clear(self) -> None:
        self.close()
        shutil.rmtree(self.folder, ignore_errors=True)
