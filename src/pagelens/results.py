"""What the library hands back: search hits and ingest reports."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image


@dataclass
class Hit:
    """One result page. `page` is 1-based; `score` ranks the results (higher is better): the exact MaxSim
    score in visual mode, BM25 in text mode, the reciprocal-rank-fusion score in hybrid mode
    (search/hybrid.py). `visual_score` (MaxSim) and `text_score` (BM25; 0.0: no query term on the page) are
    each channel's own score where it was computed; `snippet` is the page's text around the matched query
    terms, marked **like this** (text and hybrid modes; None without text)."""

    rank: int
    score: float
    path: str
    page: int
    page_id: int
    content_hash: str
    metadata: dict[str, Any] = field(default_factory=dict)
    _render: Callable[[], Image.Image] | None = field(default=None, repr=False, compare=False)
    visual_score: float | None = None
    text_score: float | None = None
    snippet: str | None = None
    mode: str = "visual"

    def image(self) -> Image.Image:
        """The page rendered from its file (raises SourceError if the file is gone or changed)."""
        if self._render is None:
            raise RuntimeError("this hit has no source file to render")
        return self._render()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "path": self.path,
            "page": self.page,
            "page_id": str(self.page_id),
            "metadata": self.metadata,
            "mode": self.mode,
            "visual_score": None if self.visual_score is None else round(self.visual_score, 6),
            "text_score": None if self.text_score is None else round(self.text_score, 6),
            "snippet": self.snippet,
        }


@dataclass
class Failure:
    """An input that could not be indexed, and why, in plain words."""

    path: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


@dataclass
class IngestReport:
    """What an `add` did. `timings` splits seconds into rasterize / embed / store."""

    pages_added: int = 0
    documents_added: int = 0
    documents_unchanged: int = 0
    documents_moved: int = 0
    documents_updated: int = 0  # same bytes, changed metadata (a `<file>.json` sidecar): nothing re-embedded
    documents_replaced: int = 0
    documents_removed: int = 0
    pages_resumed: int = 0
    failed: list[Failure] = field(default_factory=list)
    adjusted: list[Failure] = field(default_factory=list)  # indexed, with pages padded to fit the model
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=lambda: {"rasterize": 0.0, "embed": 0.0, "store": 0.0})

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def pages_per_second(self) -> float:
        return self.pages_added / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "pages_added": self.pages_added,
            "documents_added": self.documents_added,
            "documents_unchanged": self.documents_unchanged,
            "documents_moved": self.documents_moved,
            "documents_updated": self.documents_updated,
            "documents_replaced": self.documents_replaced,
            "documents_removed": self.documents_removed,
            "pages_resumed": self.pages_resumed,
            "failed": [f.to_dict() for f in self.failed],
            "adjusted": [f.to_dict() for f in self.adjusted],
            "seconds": round(self.seconds, 3),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }

    def summary(self) -> str:
        parts = [f"{self.pages_added} page(s) from {self.documents_added} document(s) added"]
        if self.documents_unchanged:
            parts.append(f"{self.documents_unchanged} unchanged (skipped, nothing re-embedded)")
        if self.documents_moved:
            parts.append(f"{self.documents_moved} moved or copied (no re-embedding)")
        if self.documents_updated:
            parts.append(f"{self.documents_updated} with new metadata (no re-embedding)")
        if self.documents_replaced:
            parts.append(f"{self.documents_replaced} replaced")
        if self.documents_removed:
            parts.append(f"{self.documents_removed} removed")
        if self.pages_resumed:
            parts.append(f"{self.pages_resumed} page(s) kept from an interrupted run")
        if self.adjusted:
            parts.append(f"{len(self.adjusted)} with pages padded to fit the model")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        return ", ".join(parts) + f" in {self.seconds:.1f}s"


@dataclass
class IndexStatus:
    """`pagelens status`: what is in an index."""

    location: str
    model: str | None
    dim: int | None
    schema_version: int
    documents: int
    pages: int
    vectors: int
    failed: list[Failure]
    adjusted: list[Failure] = field(default_factory=list)  # indexed documents with pages padded to fit
    pool_factor: int = 1  # pages stored pooled by this factor (1: every vector kept)
    vector_dtype: str = "bfloat16"  # how page vectors are stored on disk
    pages_with_text: int = 0  # pages whose text (text layer or OCR) is stored
    text_search: str | None = None  # the text engine: 'milvus-bm25' or 'bm25s' (search/text.py)
    ocr: str | None = None  # the OCR engine this machine has for pages without a text layer (None: none)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.location,
            "model": self.model,
            "dim": self.dim,
            "schema_version": self.schema_version,
            "documents": self.documents,
            "pages": self.pages,
            "vectors": self.vectors,
            "failed": [f.to_dict() for f in self.failed],
            "adjusted": [f.to_dict() for f in self.adjusted],
            "pool_factor": self.pool_factor,
            "vector_dtype": self.vector_dtype,
            "pages_with_text": self.pages_with_text,
            "text_search": self.text_search,
            "ocr": self.ocr,
        }


def storage_lines(status: Mapping[str, Any]) -> list[str]:
    """`pagelens status` lines for how pages are stored, from `IndexStatus.to_dict()` (or the HTTP status)."""
    lines = []
    factor = status.get("pool_factor")
    if factor is not None:
        kept = "every vector kept" if factor == 1 else f"about 1/{factor} of each page's vectors kept"
        lines.append(f"pooling:   factor {factor} ({kept})")
    if status.get("vector_dtype"):
        lines.append(f"stored as: {status['vector_dtype']}")
    return lines
