"""Backend for the transformers-native retrievers: ColPaliForRetrieval and ColQwen2ForRetrieval.

Pages go through the processor's `process_images`, queries through `process_queries`; the model's output
`.embeddings` are already projected, L2-normalised and zeroed on padding.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from PIL import Image

from pagelens.embed.base import TorchEmbedder


class TransformersEmbedder(TorchEmbedder):
    """A transformers `*ForRetrieval` model and its processor."""

    def _image_inputs(self, images: list[Image.Image]) -> Mapping[str, Any]:
        return self.processor.process_images(images=images)

    def _query_inputs(self, queries: list[str]) -> Mapping[str, Any]:
        return self.processor.process_queries(text=queries)

    def _forward(self, inputs: dict[str, Any]) -> torch.Tensor:
        return self.model(**inputs).embeddings
