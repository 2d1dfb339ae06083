"""The rows pagelens keeps in Milvus, as plain dataclasses."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# 2: page vectors as bfloat16; on Milvus Lite in the index folder's vector files (pages.vectors_ref), an
# index id and a commit generation in meta. Version 1 indexes are refused with a message (re-index them).
# 3: pages carry their own text (`text`, and where Milvus has BM25 its sparse field `text_sparse`).
SCHEMA_VERSION = 3


def page_id_for(content_hash: str, page: int) -> int:
    """A stable 56-bit id for page `page` of the content `content_hash` (the same bytes get the same ids)."""
    digest = hashlib.blake2b(f"{content_hash}:{page}".encode(), digest_size=7).digest()
    return int.from_bytes(digest, "big")


@dataclass
class IndexInfo:
    """What an index remembers about itself."""

    model: str | None
    dim: int | None
    schema_version: int = SCHEMA_VERSION
    vector_dtype: str = "bfloat16"
    #: a random id made when the index is created: local copies of its data carry it and are checked against it
    index_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    #: pagelens.embed.fingerprint.ModelFingerprint.to_dict() of the model (None: an index made before them)
    model_fingerprint: dict[str, Any] | None = None
    #: where the model was last found (an absolute folder, or a Hub name)
    model_location: str | None = None
    #: pages are stored pooled by this factor (pagelens.embed.pooling; 1: every vector)
    pool_factor: int = 1


@dataclass
class DocumentRecord:
    """One path in the index. status: 'indexed' (its pages are live) or 'failed' (reason says why)."""

    path: str
    content_hash: str
    status: str
    pages: int = 0
    reason: str = ""
    size: int = 0
    indexed_at: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class PageRecord:
    """One stored page. Its vectors: on Milvus Lite in the index folder's vector files at `vectors_ref`
    (store/vector_files.py); on a server in the vectors collection, keyed by `page_id`."""

    page_id: int
    content_hash: str
    page: int
    n_vectors: int
    width: int = 0
    height: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    vectors_ref: str = ""
    #: the page's own text (PDF text layer or OCR; "" if none). Written, not read back into catalogs.
    text: str = ""


@dataclass
class StoredPage:
    """A page ready to write: its record and its (n, dim) vectors."""

    record: PageRecord
    vectors: np.ndarray
