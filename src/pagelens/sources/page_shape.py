"""Make every rendered page a shape that every model's image processor accepts.

Processors refuse some shapes outright: Qwen2-VL's (ColQwen2/2.5/3) raises for an aspect ratio of 200:1 or
more, and a page a few pixels wide leaves nothing to cut into patches. Such pages are real: a malformed PDF
that pdfium opens as 595 x 2,147,483,648 points, a 60 x 20,000 scan of a receipt, a 1 x 1 tracking pixel.
Rather than fail them, pagelens pads them onto a white canvas (the page's content is kept, scaled as the
processor would have scaled it anyway), and says so: the note lands in the document's record and in
`pagelens status` ("adjusted").

- aspect ratio beyond `MAX_ASPECT` (50:1): the short side is padded (centred) to `long / MAX_ASPECT`;
- a side shorter than `MIN_SIDE` (32 px): the image is padded to at least `MIN_SIDE` on that side.

Both limits are far inside what every supported processor takes, so a page within them is never touched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

MAX_ASPECT = 50
MIN_SIDE = 32


def make_embeddable(image: Image.Image) -> tuple[Image.Image, str | None]:
    """The image, padded if its shape is outside what processors accept, and a plain note of what was done
    (None when the image is returned as it was)."""
    width, height = image.size
    new_width, new_height = max(width, MIN_SIDE), max(height, MIN_SIDE)
    long_side, short_side = max(new_width, new_height), min(new_width, new_height)
    if long_side > short_side * MAX_ASPECT:
        short_side = -(-long_side // MAX_ASPECT)
        if new_width < new_height:
            new_width = short_side
        else:
            new_height = short_side
    if (new_width, new_height) == (width, height):
        return image, None
    from PIL import Image

    canvas = Image.new("RGB", (new_width, new_height), "white")
    canvas.paste(image.convert("RGB"), ((new_width - width) // 2, (new_height - height) // 2))
    if max(width, height) > min(width, height) * MAX_ASPECT:
        ratio = max(width, height) / max(1, min(width, height))
        problem = f"aspect ratio 1:{ratio:,.0f} is beyond what models accept"
    else:
        problem = f"{width} x {height} px is too small for a model"
    return canvas, f"{problem}; padded to {new_width} x {new_height} px"
