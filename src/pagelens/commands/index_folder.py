"""Where the CLI's index lives, before anything opens it: read commands must find an index, and a first
`index`/`import` that fails must not leave an empty folder behind. Standard library only at the top."""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pagelens.store.location import IndexLocation

log = logging.getLogger(__name__)


def _location(args: argparse.Namespace) -> IndexLocation:
    from pagelens.api import default_index
    from pagelens.store.location import IndexLocation

    return IndexLocation.parse(
        args.index if args.index is not None else default_index(),
        token=getattr(args, "token", None),
        collection=getattr(args, "collection", "pagelens"),
    )


def require_index(args: argparse.Namespace) -> None:
    """NotFoundError ("no index at PATH ...") where the Milvus Lite folder `--index` names holds no index.
    A server is not checked here: opening with `create=False` does that."""
    from pagelens.api import index_may_exist, no_index_message
    from pagelens.errors import NotFoundError

    location = _location(args)
    if not index_may_exist(location):
        raise NotFoundError(no_index_message(location))


def new_lite_folder(args: argparse.Namespace) -> Path | None:
    """The Milvus Lite folder a first `index`/`import` is about to create; None if it exists or is a server."""
    location = _location(args)
    if location.is_server or location.local_dir.exists():
        return None
    return location.local_dir


def remove_new_folder(folder: Path | None) -> None:
    """Remove a folder this command created (after the index was closed), so a failed first run leaves none."""
    if folder is not None and folder.is_dir():
        log.info("removing %s: the first run into it failed", folder)
        shutil.rmtree(folder, ignore_errors=True)
