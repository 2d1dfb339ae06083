"""The one interface every model backend implements; the rest of pagelens codes against it only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image


@runtime_checkable
class Embedder(Protocol):
    """A loaded ColPali-family model: pages and queries in, multi-vectors out.

    Attributes:
        model_id: the model name or folder exactly as the user passed it.
        dim: embedding dimension of every vector (128 for every real ColPali-family checkpoint).
        image_side: preferred long side, in pixels, to render pages at for this model's processor.
    """

    model_id: str
    dim: int
    image_side: int

    def embed_images(self, images: Sequence[Image.Image]) -> list[np.ndarray]:
        """One float32 (n_i, dim) array per image: L2-normalised rows as the model outputs them, padding
        tokens removed, so n_i is the image's real token count."""
        ...

    def embed_queries(self, queries: Sequence[str]) -> list[np.ndarray]:
        """One float32 (n_i, dim) array per query, padding removed."""
        ...
