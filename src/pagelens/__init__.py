"""pagelens: search PDFs and scanned pages by how they look.

    import pagelens
    index = pagelens.open("pagelens_index", model="vidore/colqwen2.5-v0.2")
    index.add(["reports/"])
    hits = index.search("Where is the revenue table?", k=5)

Names are imported on first use, so `import pagelens` stays instant (no torch, no pymilvus).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from pagelens.api import Index, open
    from pagelens.results import Failure, Hit, IndexStatus, IngestReport

_LAZY = {
    "open": "pagelens.api",
    "Index": "pagelens.api",
    "Hit": "pagelens.results",
    "Failure": "pagelens.results",
    "IngestReport": "pagelens.results",
    "IndexStatus": "pagelens.results",
}

__all__ = ["Failure", "Hit", "Index", "IndexStatus", "IngestReport", "__version__", "open"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pagelens' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
