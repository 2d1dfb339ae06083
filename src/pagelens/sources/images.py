"""Image files as pages: PNG, JPEG, WebP, BMP, GIF (first frame) and multi-page TIFF (one page a frame)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pagelens.errors import SourceError

if TYPE_CHECKING:
    from PIL import Image

# Images bigger than this are refused rather than decoded (PIL's own bomb check warns at ~89M).
MAX_IMAGE_PIXELS = 200_000_000


def _fit(image: Image.Image, image_side: int) -> Image.Image:
    """RGB, and no larger than twice the model's side (the processor resizes anyway; this bounds memory)."""
    image = image.convert("RGB")
    longest = max(image.size)
    limit = image_side * 2
    if longest > limit:
        ratio = limit / longest
        image = image.resize((max(1, round(image.width * ratio)), max(1, round(image.height * ratio))))
    return image


def _open(path: str):
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise SourceError(path, f"not a supported image ({exc.__class__.__name__})") from exc
    except OSError as exc:
        if exc.errno is None:  # PIL reports a broken image as a bare OSError
            raise SourceError(path, f"not a supported image ({exc})") from exc
        raise SourceError(path, f"cannot read file ({exc.strerror or exc})") from exc
    return image


def image_page_count(path: str) -> int:
    with _open(path) as image:
        return int(getattr(image, "n_frames", 1)) if image.format == "TIFF" else 1


def render_image(path: str, image_side: int, start_page: int = 1) -> Iterator[tuple[int, Image.Image]]:
    """Yield (1-based page number, RGB image): one page per TIFF frame, else one page."""
    with _open(path) as image:
        frames = int(getattr(image, "n_frames", 1)) if image.format == "TIFF" else 1
        for index in range(start_page - 1, frames):
            try:
                image.seek(index)
                image.load()
                page = _fit(image, image_side)
            except (OSError, ValueError, SyntaxError) as exc:
                raise SourceError(path, f"image cannot be decoded ({exc})") from exc
            yield index + 1, page
