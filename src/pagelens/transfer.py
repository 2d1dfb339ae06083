"""Move an index without re-embedding: export to portable Parquet files, import into another index.

An export is a folder:
- `manifest.json`: format, version, model id, dim, schema version, counts;
- `documents.parquet`: one row per path (status, reason, content hash, metadata as JSON);
- `pages.parquet`: one row per page, its vectors as little-endian bytes (`n_vectors x dim`) of the manifest's
  `vector_dtype`: bfloat16 (version 2; kept as uint16 bits) or float16 (version 1 exports, still read), and
  its text (the `text` column; exports made before text search have none, and their pages import without).
Written and read in batches, so an index larger than memory moves too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from pagelens.errors import IndexMismatchError, MissingDependencyError, UsageError
from pagelens.store import bfloat16
from pagelens.store.milvus import MilvusStore
from pagelens.store.records import DocumentRecord, IndexInfo, PageRecord, StoredPage

log = logging.getLogger(__name__)

FORMAT = "pagelens-export"
VERSION = 2
READABLE_VERSIONS = (1, 2)
PAGE_COLUMNS = [
    f.name for f in fields(PageRecord) if f.name not in {"vectors_ref", "text"}
]  # where the vectors are is the target's business; the text is read from the text index
BATCH_PAGES = 128


@dataclass
class TransferReport:
    documents: int = 0
    pages: int = 0
    skipped_documents: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"documents": self.documents, "pages": self.pages, "skipped_documents": self.skipped_documents}


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError("pyarrow", "datasets") from exc
    return pyarrow


def export_index(store: MilvusStore, info: IndexInfo, folder: Path) -> TransferReport:
    """Write every document row and every page (with vectors) of `store` into `folder`."""
    pa = _pyarrow()
    if info.dim is None:
        raise UsageError("the index is empty: nothing to export")
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise UsageError(f"{folder} is not empty; export into a new folder")
    report = TransferReport()
    documents = store.list_documents()
    pa.parquet.write_table(
        pa.table(_columns(documents, [f.name for f in fields(DocumentRecord)])),
        folder / "documents.parquet",
    )
    report.documents = len(documents)
    hashes = sorted({d.content_hash for d in documents if d.status == "indexed"})
    schema = pa.schema(
        [
            ("page_id", pa.int64()),
            ("content_hash", pa.string()),
            ("page", pa.int64()),
            ("n_vectors", pa.int64()),
            ("width", pa.int64()),
            ("height", pa.int64()),
            ("metadata", pa.string()),
            ("vectors", pa.binary()),
            ("text", pa.string()),
        ]
    )
    with pa.parquet.ParquetWriter(folder / "pages.parquet", schema) as writer:
        pages = store.pages_of(hashes) if hashes else []
        for start in range(0, len(pages), BATCH_PAGES):
            batch = pages[start : start + BATCH_PAGES]
            vectors = store.fetch_vectors(batch, info.dim)
            complete = [p for p in batch if p.page_id in vectors]
            texts = store.text_index.texts([p.page_id for p in complete])
            writer.write_table(
                pa.table(
                    {
                        **_columns(complete, PAGE_COLUMNS),
                        "vectors": [bfloat16.encode(vectors[p.page_id]).tobytes() for p in complete],
                        "text": [texts.get(p.page_id, "") for p in complete],
                    },
                    schema=schema,
                )
            )
            report.pages += len(complete)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "model": info.model,
        "dim": info.dim,
        "schema_version": info.schema_version,
        "vector_dtype": "bfloat16",
        "documents": report.documents,
        "pages": report.pages,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return report


def _columns(records: Sequence[Any], names: list[str]) -> dict[str, list[Any]]:
    """Dataclass records -> Parquet columns; the metadata dict travels as JSON text."""
    return {
        name: [json.dumps(r.metadata) if name == "metadata" else getattr(r, name) for r in records]
        for name in names
    }


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{folder} is not a pagelens export (no readable manifest.json)") from exc
    if manifest.get("format") != FORMAT or manifest.get("version") not in READABLE_VERSIONS:
        raise UsageError(
            f"{folder}: unsupported export format {manifest.get('format')!r} v{manifest.get('version')}"
        )
    return manifest


def _decoder(vector_dtype: str) -> Any:
    if vector_dtype == "bfloat16":
        return lambda raw, dim: bfloat16.decode(np.frombuffer(raw, dtype=bfloat16.STORED).reshape(-1, dim))
    if vector_dtype == "float16":
        return lambda raw, dim: np.frombuffer(raw, dtype="<f2").reshape(-1, dim).astype(np.float32)
    raise UsageError(f"unsupported vector type {vector_dtype!r} in the export")


def _page_batches(folder: Path, dim: int, vector_dtype: str) -> Iterator[list[StoredPage]]:
    pa = _pyarrow()
    decode = _decoder(vector_dtype)
    parquet = pa.parquet.ParquetFile(folder / "pages.parquet")
    for batch in parquet.iter_batches(batch_size=BATCH_PAGES):
        rows = batch.to_pylist()
        yield [
            StoredPage(
                PageRecord(
                    page_id=row["page_id"],
                    content_hash=row["content_hash"],
                    page=row["page"],
                    n_vectors=row["n_vectors"],
                    width=row["width"],
                    height=row["height"],
                    metadata=json.loads(row["metadata"]),
                    text=row.get("text") or "",
                ),
                decode(row["vectors"], dim),
            )
            for row in rows
        ]


def import_index(
    store: MilvusStore, info: IndexInfo, folder: Path, on_pages: Any = None
) -> tuple[TransferReport, IndexInfo]:
    """Load an export into `store`. Documents already present with the same content are skipped. Pages are
    written before the document rows that make them live, as in indexing. Returns the report and the
    index's info (model and dim taken from the export when the target is new)."""
    manifest = read_manifest(folder)
    dim = int(manifest["dim"])
    if info.dim is not None and info.dim != dim:
        raise IndexMismatchError(f"the export holds {dim}-d vectors; the index holds {info.dim}-d")
    if info.model is not None and manifest.get("model") not in (None, info.model):
        raise IndexMismatchError(
            f"the export was made with model {manifest['model']!r}; the index uses {info.model!r}"
        )
    if info.dim is None:
        store.create(dim)
        info = IndexInfo(model=manifest.get("model"), dim=dim)
        store.write_info(info)
    pa = _pyarrow()
    documents = [
        DocumentRecord(**{**row, "metadata": json.loads(row["metadata"])})
        for row in pa.parquet.read_table(folder / "documents.parquet").to_pylist()
    ]
    present = {(d.path, d.content_hash, d.status) for d in store.list_documents()}
    wanted = [d for d in documents if (d.path, d.content_hash, d.status) not in present]
    report = TransferReport(skipped_documents=len(documents) - len(wanted))
    needed = {d.content_hash for d in wanted if d.status == "indexed"}
    stored = {p.page_id for p in store.pages_of(sorted(needed))} if needed else set()  # resume a cut import
    for batch in _page_batches(folder, dim, manifest.get("vector_dtype", "float16")):
        batch = [p for p in batch if p.record.content_hash in needed and p.record.page_id not in stored]
        if batch:
            store.write_pages(batch)
            if on_pages is not None:
                on_pages(batch)
            report.pages += len(batch)
    for document in wanted:
        store.write_document(document)
    report.documents = len(wanted)
    return report, info
