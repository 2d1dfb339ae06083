"""One lock per open Index, shared by every integration that uses it.

Frameworks call retrievers and tools from worker threads (LangChain's `ainvoke`, LlamaIndex's `aretrieve`,
the MCP SDK's synchronous tools); the model and a Milvus Lite folder serve one caller at a time.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pagelens.api import Index

_locks: weakref.WeakKeyDictionary[Index, threading.RLock] = weakref.WeakKeyDictionary()
_guard = threading.Lock()


def index_lock(index: Index) -> threading.RLock:
    """The lock that serializes use of `index` (re-entrant: a locked caller may take it again)."""
    with _guard:
        lock = _locks.get(index)
        if lock is None:
            lock = _locks[index] = threading.RLock()
        return lock
