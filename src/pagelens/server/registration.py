"""A running `pagelens serve` announces itself in the Milvus Lite folder it holds, so that read commands on
the same index (`pagelens search`, `pagelens status`) can go through it instead of failing as "in use".

`<index>/serving.json` holds the server's pid and URL; it is written when the server starts and removed when
it stops. A file left by a process that no longer runs is ignored (and removed).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from pagelens.store.location import IndexLocation

log = logging.getLogger(__name__)

FILE = "serving.json"


@contextlib.contextmanager
def announce(location: IndexLocation, host: str, port: int) -> Iterator[None]:
    """While the block runs, `location`'s folder names this process as its server (Milvus Lite only)."""
    if location.is_server:
        yield
        return
    path = location.local_dir / FILE
    reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    payload = {"pid": os.getpid(), "url": f"http://{reachable}:{port}"}
    temporary = path.with_suffix(".tmp")
    try:
        temporary.write_text(json.dumps(payload))
        os.replace(temporary, path)
    except OSError as exc:  # a read-only folder: the server still runs, read commands just cannot find it
        log.debug("cannot announce the server in %s: %s", path, exc)
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            if json.loads(path.read_text()).get("pid") == os.getpid():
                path.unlink()


def serving_url(location: IndexLocation) -> str | None:
    """The URL of the `pagelens serve` that holds this Milvus Lite index, if one is running."""
    if location.is_server:
        return None
    path = Path(location.local_dir) / FILE
    try:
        payload = json.loads(path.read_text())
        pid, url = int(payload["pid"]), str(payload["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    except PermissionError:  # alive, another user's
        pass
    return url
