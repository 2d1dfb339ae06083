"""Backend for colpali-engine's model classes: ColPali, ColQwen2, ColQwen2_5, ColIdefics3 (ColSmol).

Pages go through the processor's `process_images`, queries through `process_queries` (query prefix and the
augmentation tokens the models were trained with), exactly as colpali-engine's own examples do, with one
correction for ColPali (PaliGemma) queries, see `_query_inputs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from PIL import Image

from pagelens.embed.base import TorchEmbedder


class ColpaliEngineEmbedder(TorchEmbedder):
    """A colpali-engine retrieval model and its processor."""

    def _image_inputs(self, images: list[Image.Image]) -> Mapping[str, Any]:
        return self.processor.process_images(images)

    def _query_inputs(self, queries: list[str]) -> Mapping[str, Any]:
        inputs = self.processor.process_queries(queries)
        if self.backend == "colpali" and "token_type_ids" not in inputs:
            # PaliGemma attends bidirectionally over the whole prompt (the prefix), which is how ColPali
            # was trained. colpali-engine's text batches carry no token_type_ids, and transformers 5 then
            # builds a causal mask when the batch has padding but runs Gemma's bidirectional attention when
            # it has none, so a query's vectors would depend on the other queries in its batch. All-zero
            # token_type_ids (all prefix) make every batch bidirectional, as transformers' own
            # ColPaliProcessor does for queries.
            inputs["token_type_ids"] = torch.zeros_like(inputs["input_ids"])
        return inputs

    def _forward(self, inputs: dict[str, Any]) -> torch.Tensor:
        return self.model(**inputs)
