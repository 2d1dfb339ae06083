"""How a page's multi-vector is stored in Milvus: float16 bytes, base64, in VARCHAR chunks.

Milvus Lite stores only FLOAT_VECTOR fields and inserts about 11k rows/s, so one row per patch vector (the
Milvus tutorial's layout) caps indexing near 11 pages/s and fetching one page takes ~0.3 s. Packing a page's
vectors into a few VARCHAR chunks inserts ~4x faster and fetches ~50x faster; candidate search does not need
per-vector rows because pagelens generates candidates from its own pooled copy (see search/).
"""

from __future__ import annotations

import base64

import numpy as np

CHUNK_CHARS = 65_000  # under Milvus' 65,535-byte VARCHAR limit; base64 is ASCII
MAX_CHUNKS = 64  # chunk row ids are page_id * MAX_CHUNKS + chunk
STORED_DTYPE = np.dtype("<f2")


def encode(vectors: np.ndarray) -> list[str]:
    """(n, dim) float array -> base64 chunks of its float16 bytes."""
    text = base64.b64encode(np.ascontiguousarray(vectors, dtype=STORED_DTYPE).tobytes()).decode("ascii")
    chunks = [text[i : i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)]
    if len(chunks) > MAX_CHUNKS:
        raise ValueError(f"a page of {len(vectors)} vectors is too large to store ({len(chunks)} chunks)")
    return chunks


def decode(chunks: list[str], dim: int) -> np.ndarray:
    """Chunks in order -> (n, dim) float16 array."""
    raw = base64.b64decode("".join(chunks))
    return np.frombuffer(raw, dtype=STORED_DTYPE).reshape(-1, dim)
