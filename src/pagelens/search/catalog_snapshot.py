"""A local snapshot of the catalog (live documents and their pages): reopening a large index reads one file
instead of every row through Milvus Lite's query iterator (minutes at 100,000 pages).

A verified replica, never a second truth: it records the index id and the commit generation (store/milvus.py)
it was read at, and is used only while Milvus reports that same generation; every commit changes it. Deleting
the file is always safe.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from pathlib import Path

from pagelens.search.catalog import Catalog
from pagelens.store.records import DocumentRecord, PageRecord

log = logging.getLogger(__name__)

FILE = "catalog.json"
VERSION = 1


def load(folder: Path, index_id: str, generation: str) -> Catalog | None:
    """The snapshot in `folder` if it was taken of index `index_id` at `generation`, else None."""
    if not generation:
        return None
    try:
        payload = json.loads((folder / FILE).read_text())
        if (payload.get("version"), payload.get("index_id"), payload.get("generation")) != (
            VERSION,
            index_id,
            generation,
        ):
            return None
        documents = [DocumentRecord(**row) for row in payload["documents"]]
        pages = [PageRecord(**row) for row in payload["pages"]]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.info("ignoring the catalog snapshot in %s: %s", folder, exc)
        return None
    return Catalog(documents, pages)


def save(folder: Path, index_id: str, generation: str, catalog: Catalog) -> None:
    """Write the snapshot atomically (best effort: a read-only folder just means no snapshot)."""
    if not generation:
        return
    payload = {
        "version": VERSION,
        "index_id": index_id,
        "generation": generation,
        "documents": [asdict(d) for d in catalog.documents],
        "pages": [asdict(p) for p in catalog.pages],
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f"{FILE}.{os.getpid()}.tmp"
        temporary.write_text(json.dumps(payload))
        os.replace(temporary, folder / FILE)
    except OSError as exc:
        log.debug("no catalog snapshot in %s: %s", folder, exc)
