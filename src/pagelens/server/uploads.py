"""Saving uploaded files into the index's uploads folder: safe names, size limits, no overwrites.

Only the last component of a client's file name is kept, reduced to letters, digits, '.', '-', '_' and
spaces; the suffix must be a PDF or image type pagelens indexes. A name already taken by other bytes gets a
numbered sibling (`report-2.pdf`); identical bytes reuse the existing file (indexing it again is a no-op).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from pagelens.server.errors import UploadRejected
from pagelens.sources.document import IMAGE_SUFFIXES, PDF_SUFFIXES

ACCEPTED_SUFFIXES = PDF_SUFFIXES | IMAGE_SUFFIXES
MAX_NAME_LENGTH = 120
CHUNK = 1 << 20
_UNSAFE = re.compile(r"[^\w.\- ]+")


def safe_name(filename: str | None) -> str:
    """A file name safe to create in the uploads folder, or UploadRejected saying why not."""
    shown = filename or "(unnamed)"
    name = PurePosixPath((filename or "").replace("\\", "/")).name
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name:
        raise UploadRejected(shown, "the upload has no usable file name")
    stem, suffix = os.path.splitext(name)
    suffix = suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        kinds = ", ".join(sorted(ACCEPTED_SUFFIXES))
        raise UploadRejected(shown, f"unsupported file type (expected one of {kinds})", status=415)
    stem = stem[: MAX_NAME_LENGTH - len(suffix)] or "upload"
    return stem + suffix


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class SavedUpload:
    path: Path
    created: bool  # False when identical bytes were already there under that name


def save_upload(source: BinaryIO, folder: Path, filename: str | None, max_bytes: int) -> SavedUpload:
    """Copy `source` into `folder` under a safe name."""
    name = safe_name(filename)
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    handle, temp_name = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=folder)
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            while block := source.read(CHUNK):
                size += len(block)
                if size > max_bytes:
                    raise UploadRejected(
                        filename or name, f"larger than the {max_bytes:,}-byte upload limit", 413
                    )
                digest.update(block)
                out.write(block)
        if size == 0:
            raise UploadRejected(filename or name, "the file is empty")
        return _place(temp, folder, name, digest.hexdigest())
    finally:
        temp.unlink(missing_ok=True)


def _place(temp: Path, folder: Path, name: str, sha: str) -> SavedUpload:
    stem, suffix = os.path.splitext(name)
    for number in range(1, 1000):
        candidate = folder / (name if number == 1 else f"{stem}-{number}{suffix}")
        if candidate.exists():
            if candidate.is_file() and _sha256(candidate) == sha:
                return SavedUpload(candidate, created=False)
            continue
        try:
            os.link(temp, candidate)  # atomic, and fails instead of overwriting a concurrent upload
        except FileExistsError:
            continue
        except OSError:
            if candidate.exists():
                continue
            os.replace(temp, candidate)
        return SavedUpload(candidate, created=True)
    raise UploadRejected(name, "too many uploads share this name", 409)


def is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True
