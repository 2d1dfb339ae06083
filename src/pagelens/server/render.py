"""Page images for the browser: rendered from the indexed source file, checked against its content hash,
encoded once and kept in a small LRU cache (page ids are content-addressed, so a cached image never goes
stale)."""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pagelens.errors import NotFoundError, SourceError
from pagelens.sources.rerender import render_indexed_page
from pagelens.store.records import PageRecord

if TYPE_CHECKING:
    from PIL import Image

PAGE_SIDE = 1400
THUMBNAIL_SIDE = 360


@dataclass(frozen=True)
class Variant:
    name: str
    side: int
    format: str  # PIL format name
    media_type: str


PAGE = Variant("image", PAGE_SIDE, "PNG", "image/png")
THUMBNAIL = Variant("thumbnail", THUMBNAIL_SIDE, "JPEG", "image/jpeg")


@dataclass(frozen=True)
class RenderedImage:
    data: bytes
    media_type: str
    width: int
    height: int


def render_page(path: str, record: PageRecord, variant: Variant) -> RenderedImage:
    """Render page `record.page` of the document at `path` (a path from the index, never from a request):
    a file checked against its content hash, or a row of an indexed dataset (`/data/ds#17`). A source that
    is gone, changed or no longer readable is NotFoundError: the page exists, its image does not."""
    try:
        image = render_indexed_page(path, record, variant.side)
    except SourceError as exc:
        raise NotFoundError(f"{exc.path}: {exc.reason}") from exc
    return _encode(image, variant)


def _encode(image: Image.Image, variant: Variant) -> RenderedImage:
    if max(image.size) > variant.side:  # image sources are only bounded to twice the side
        image = image.copy()
        image.thumbnail((variant.side, variant.side))
    buffer = io.BytesIO()
    if variant.format == "JPEG":
        image.convert("RGB").save(buffer, format="JPEG", quality=82, optimize=True)
    else:
        image.save(buffer, format=variant.format, optimize=False, compress_level=6)
    return RenderedImage(buffer.getvalue(), variant.media_type, image.width, image.height)


class ImageCache:
    """A thread-safe LRU of encoded page images, bounded by total bytes."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[int, str], RenderedImage] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, page_id: int, variant: Variant) -> RenderedImage | None:
        with self._lock:
            item = self._items.get((page_id, variant.name))
            if item is not None:
                self._items.move_to_end((page_id, variant.name))
            return item

    def put(self, page_id: int, variant: Variant, image: RenderedImage) -> None:
        if len(image.data) > self.max_bytes:
            return
        with self._lock:
            previous = self._items.pop((page_id, variant.name), None)
            if previous is not None:
                self._bytes -= len(previous.data)
            self._items[(page_id, variant.name)] = image
            self._bytes += len(image.data)
            while self._bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped.data)
