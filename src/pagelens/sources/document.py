"""What a source is: a document on disk (with a content hash) and the page images it yields."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

PDF_SUFFIXES = frozenset({".pdf"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif"})


def content_hash(path: Path, chunk_size: int = 1 << 20) -> str:
    """sha256 of the file's bytes, hex: the identity of a document's content, whatever its name."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def kind_of(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        return "pdf"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    return None


@dataclass(frozen=True)
class Document:
    """One input file. `path` is absolute; `content_hash` identifies its bytes (renames keep it)."""

    path: str
    content_hash: str
    kind: str
    size: int
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_path(cls, path: str | Path, metadata: dict[str, Any] | None = None) -> Document:
        resolved = Path(path).resolve()
        kind = kind_of(resolved) or "unknown"
        return cls(
            path=str(resolved),
            content_hash=content_hash(resolved),
            kind=kind,
            size=resolved.stat().st_size,
            metadata=dict(metadata or {}),
        )


@dataclass
class PageImage:
    """One rendered page. `page` is 1-based; `text` is its own text (text layer or OCR, "" if none)."""

    document: Document
    page: int
    image: Image.Image
    text: str = ""
