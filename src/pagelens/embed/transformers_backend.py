"""Backends for the transformers-native retrievers.

`TransformersEmbedder` runs ColPaliForRetrieval, ColQwen2ForRetrieval and ColModernVBertForRetrieval: pages
go through the processor's `process_images`, queries through `process_queries`; the model's output
`.embeddings` are already projected, L2-normalised and zeroed on padding.

`NeoMMEEmbedder` runs NeoMMEForRetrieval, whose processor has no `process_images`/`process_queries`: inputs are
formatted by the checkpoint's own retrieval chat template (`apply_chat_template(..., task="document")` for a
page, `task="query"` for a query), as the processor documents; only the multi-vector head is computed.
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


class NeoMMEEmbedder(TorchEmbedder):
    """NeoMMEForRetrieval: one bidirectional encoder over text tokens and raw image patches."""

    def _image_inputs(self, images: list[Image.Image]) -> Mapping[str, Any]:
        conversations = [
            [{"role": "user", "content": [{"type": "image", "image": image}]}] for image in images
        ]
        return self._template(conversations, "document")

    def _query_inputs(self, queries: list[str]) -> Mapping[str, Any]:
        conversations = [
            [{"role": "user", "content": [{"type": "text", "text": query}]}] for query in queries
        ]
        return self._template(conversations, "query")

    def _template(self, conversations: list[Any], task: str) -> Mapping[str, Any]:
        return self.processor.apply_chat_template(
            conversations,
            task=task,
            tokenize=True,
            return_dict=True,
            return_tensors="pt",
            processor_kwargs={"padding": True},
        )

    def _forward(self, inputs: dict[str, Any]) -> torch.Tensor:
        return self.model(**inputs, output_dense=False).embeddings
