"""What every integration makes of a Hit and of a page id: metadata, text, where the page lives, its PNG.

One place for these so the MCP tools, the LangChain retriever and the LlamaIndex retriever agree on keys,
and so none of them reaches into the Index beyond `search`, `render_page`, `documents` and `catalog`.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

from pagelens.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from PIL import Image

    from pagelens.api import Index
    from pagelens.results import Hit

#: Long side of page images handed to agents and multimodal chains, unless the caller asks otherwise.
DEFAULT_IMAGE_SIDE = 1024
MIN_IMAGE_SIDE, MAX_IMAGE_SIDE = 64, 4096
#: Keys every integration's metadata carries; they win over page metadata of the same name.
HIT_KEYS = ("path", "page", "score", "page_id", "rank")


def hit_metadata(hit: Hit) -> dict[str, Any]:
    """The page's own metadata with `path`, `page`, `score`, `page_id` (a string, as in `search --json`)
    and `rank` on top."""
    core = hit.to_dict()
    return {**hit.metadata, **{key: core[key] for key in HIT_KEYS}}


def hit_text(hit: Hit) -> str:
    """The page's text, or a snippet of it, where the index has one; else "" (today's indexes hold none)."""
    for name in ("text", "snippet"):
        value = getattr(hit, name, None)
        if value:
            return str(value)
    return ""


def parse_page_id(page_id: str | int) -> int:
    """A page id as search results give it (a string of digits) -> int; UsageError otherwise."""
    text = str(page_id).strip()
    if not text.isdigit():
        raise UsageError(f"page_id {page_id!r} is not a page id: use a page_id from a search result")
    return int(text)


def page_location(index: Index, page_id: int) -> tuple[str, int]:
    """(path, 1-based page number) of an indexed page; NotFoundError when the id is not in the index."""
    record = index.catalog.by_id.get(page_id) if index.info.dim is not None else None
    if record is None:
        raise NotFoundError(f"page_id {page_id} is not in the index")
    return index.catalog.path_of(record), record.page


def check_side(side: int) -> int:
    if not MIN_IMAGE_SIDE <= int(side) <= MAX_IMAGE_SIDE:
        raise UsageError(
            f"image side must be between {MIN_IMAGE_SIDE} and {MAX_IMAGE_SIDE} pixels, got {side}"
        )
    return int(side)


def png_bytes(image: Image.Image, max_side: int | None = None) -> bytes:
    """`image` as PNG, shrunk (never enlarged) so its long side is at most `max_side`."""
    if max_side is not None and max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side))
    if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def page_png(index: Index, page_id: int, side: int = DEFAULT_IMAGE_SIDE) -> bytes:
    """An indexed page rendered again from its source, as PNG with long side at most `side`.
    Raises NotFoundError when the page, or its unchanged source file, is not there."""
    return png_bytes(index.render_page(page_id, side), side)


def page_png_base64(index: Index, page_id: int, side: int = DEFAULT_IMAGE_SIDE) -> str:
    return base64.b64encode(page_png(index, page_id, side)).decode("ascii")


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG, read from its header."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        raise ValueError("not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
