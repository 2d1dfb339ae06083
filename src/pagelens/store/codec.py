"""How a page's multi-vector is stored in a Milvus server: bfloat16 bytes, base64, in VARCHAR chunks.

Packing a page's vectors into a few VARCHAR chunks inserts ~4x faster than one row per patch vector (the
Milvus tutorial's layout) and fetches ~50x faster. On Milvus Lite the vectors live in the index folder's
vector files instead (vector_files.py): Lite keeps every loaded row in RAM.
"""

from __future__ import annotations

import base64

import numpy as np

from pagelens.store import bfloat16

CHUNK_CHARS = 65_000  # under Milvus' 65,535-byte VARCHAR limit; base64 is ASCII
MAX_CHUNKS = 64  # chunk row ids are page_id * MAX_CHUNKS + chunk


def encode(vectors: np.ndarray) -> list[str]:
    """(n, dim) float array -> base64 chunks of its bfloat16 bytes."""
    text = base64.b64encode(bfloat16.encode(vectors).tobytes()).decode("ascii")
    chunks = [text[i : i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)]
    if len(chunks) > MAX_CHUNKS - 1:  # the last slot holds a page's packed centroids on servers
        raise ValueError(f"a page of {len(vectors)} vectors is too large to store ({len(chunks)} chunks)")
    return chunks


def decode(chunks: list[str], dim: int) -> np.ndarray:
    """Chunks in order -> (n, dim) float32 array of the stored bfloat16 values."""
    raw = base64.b64decode("".join(chunks))
    return bfloat16.decode(np.frombuffer(raw, dtype=bfloat16.STORED).reshape(-1, dim))


def chunk_count(n_vectors: int, dim: int) -> int:
    """How many chunks `encode` makes of a page of `n_vectors` vectors."""
    chars = 4 * -(-(n_vectors * dim * bfloat16.STORED.itemsize) // 3)
    return max(1, -(-chars // CHUNK_CHARS))
