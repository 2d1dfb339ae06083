"""Where an index lives: a Milvus Lite folder on this machine, or a Milvus server."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

SERVER_SCHEMES = ("http://", "https://", "tcp://", "unix:")
DEFAULT_INDEX = "pagelens_index"
LITE_DATA_NAME = "milvus.db"


@dataclass(frozen=True)
class IndexLocation:
    """`uri` as the user gave it; `milvus_uri` is what pymilvus connects to; `local_dir` holds pagelens'
    own files (the rerank cache, the writer lock): the index folder itself for Lite, a cache folder for
    a server."""

    uri: str
    milvus_uri: str
    is_server: bool
    local_dir: Path
    token: str | None = None
    collection: str = "pagelens"

    @classmethod
    def parse(
        cls, uri: str | os.PathLike[str], token: str | None = None, collection: str = "pagelens"
    ) -> IndexLocation:
        text = os.fspath(uri)
        if text.startswith(SERVER_SCHEMES):
            milvus_uri = "http://" + text[len("tcp://") :] if text.startswith("tcp://") else text
            key = hashlib.sha256(f"{milvus_uri}\0{collection}".encode()).hexdigest()[:16]
            cache_root = Path(os.environ.get("PAGELENS_CACHE", Path.home() / ".cache" / "pagelens"))
            return cls(text, milvus_uri, True, cache_root / key, token, collection)
        folder = Path(text).expanduser().resolve()
        return cls(text, str(folder / LITE_DATA_NAME), False, folder, None, collection)

    def describe(self) -> str:
        return self.uri if self.is_server else str(self.local_dir)
