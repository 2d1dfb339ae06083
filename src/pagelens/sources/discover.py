"""Expand the paths a user gives (files, folders, globs) into the files to index."""

from __future__ import annotations

import fnmatch
import glob
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from pagelens.errors import SourceError
from pagelens.sources.document import kind_of

log = logging.getLogger(__name__)

DEFAULT_EXCLUDE = (".*", "__pycache__")


def _matches(path: Path, root: Path, patterns: Sequence[str]) -> bool:
    relative = path.relative_to(root).as_posix() if path != root else path.name
    return any(fnmatch.fnmatch(relative, p) or fnmatch.fnmatch(path.name, p) for p in patterns)


def _walk(root: Path, include: Sequence[str], exclude: Sequence[str]) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames if not _matches(here / d, root, (*DEFAULT_EXCLUDE, *exclude))
        )
        for name in sorted(filenames):
            path = here / name
            if _matches(path, root, (*DEFAULT_EXCLUDE, *exclude)):
                continue
            if include:
                if _matches(path, root, include):
                    yield path
            elif kind_of(path) is not None:
                yield path


def discover(
    inputs: Iterable[str | Path],
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    errors: list[SourceError] | None = None,
) -> list[Path]:
    """Files to index, absolute, sorted within each input, without duplicates.

    Folders are walked recursively and yield files of a known kind (PDF or image) or, when `include` globs
    are given, the files that match them. A file named directly is always taken (so a `.pdf` that is not a
    PDF gets a clear error later). Inputs that do not exist are appended to `errors` when it is given,
    else raise SourceError.
    """
    seen: set[Path] = set()
    found: list[Path] = []

    def add(path: Path) -> None:
        resolved = path.resolve()
        if resolved not in seen:
            seen.add(resolved)
            found.append(resolved)

    for raw in inputs:
        path = Path(raw).expanduser()
        if path.is_dir():
            for child in _walk(path, include, exclude):
                add(child)
        elif path.is_file():
            add(path)
        elif any(ch in str(raw) for ch in "*?["):
            matches = sorted(glob.glob(str(path), recursive=True))
            for match in matches:
                if Path(match).is_file() and not _matches(Path(match), Path(match).parent, exclude):
                    add(Path(match))
            if not matches:
                log.info("glob %s matched nothing", raw)
        else:
            error = SourceError(str(path), "no such file or folder")
            if errors is None:
                raise error
            errors.append(error)
    return found
