"""ColQwen2.5-Omni (colpali-engine `ColQwen2_5Omni`): refused with a clear error where it cannot be built.

colpali-engine 0.3.18's `ColQwen2_5Omni` is written for transformers 4's Qwen2.5-Omni thinker, which held the
vision tower at `self.visual` and the text model (with `config.hidden_size`) at `self.model`. transformers 5
moved the tower to `self.model.visual` and the text sizes to `config.text_config`, so `ColQwen2_5Omni(config)`
fails inside `Qwen2_5OmniThinkerForConditionalGeneration.__init__` (its `spatial_merge_size` setter writes
`self.visual.config`: AttributeError), and so does every `from_pretrained`. Before loading anything, this
backend constructs the class once from a tiny config on the meta device (no memory, well under a second); if
that fails, loading raises a `ModelError` naming the class, the missing piece and the installed versions
instead of a bare AttributeError from deep inside the model. Where construction works (a fixed colpali-engine),
the checkpoint loads and runs exactly like the other colpali-engine families.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, TypeVar

from pagelens.embed.checkpoint import Checkpoint
from pagelens.embed.colpali_engine_backend import ColpaliEngineEmbedder
from pagelens.embed.registry import BackendSpec, import_backend_class
from pagelens.errors import ModelError

logger = logging.getLogger(__name__)

E = TypeVar("E", bound="ColQwenOmniEmbedder")

#: The smallest thinker config transformers accepts: text, vision and audio towers of one layer, 16 wide.
_PROBE_CONFIG: dict[str, Any] = {
    "text_config": {
        "vocab_size": 16,
        "hidden_size": 16,
        "intermediate_size": 16,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [1, 1, 2]},
    },
    "vision_config": {
        "depth": 1,
        "hidden_size": 16,
        "intermediate_size": 16,
        "num_heads": 2,
        "out_hidden_size": 16,
        "fullatt_block_indexes": [0],
    },
    "audio_config": {
        "num_mel_bins": 8,
        "encoder_layers": 1,
        "encoder_attention_heads": 2,
        "encoder_ffn_dim": 16,
        "d_model": 16,
        "output_dim": 16,
        "max_source_positions": 8,
    },
}


class ColQwenOmniEmbedder(ColpaliEngineEmbedder):
    """colpali-engine's ColQwen2.5-Omni, after checking that the installed libraries can construct it."""

    @classmethod
    def load(
        cls: type[E],
        checkpoint: Checkpoint,
        spec: BackendSpec,
        *,
        device: str = "auto",
        batch_size: int | None = None,
    ) -> E:
        check_constructible(spec)
        return super().load(checkpoint, spec, device=device, batch_size=batch_size)


def check_constructible(spec: BackendSpec) -> None:
    """Raise `ModelError` if `spec.model_class` cannot be constructed with the installed transformers."""
    from importlib.metadata import version

    problem = _construction_problem(spec)
    if problem is None:
        return
    engine, transformers = version("colpali-engine"), version("transformers")
    raise ModelError(
        f"backend {spec.key!r}: colpali-engine {engine}'s {spec.family_class} cannot be built with "
        f"transformers {transformers}: it expects transformers 4's Qwen2.5-Omni thinker layout (the vision "
        "tower at self.visual, hidden_size in the thinker's self.model.config), which transformers 5 moved to "
        f"self.model.visual and config.text_config; constructing it fails with {problem}. No ColQwen2.5-Omni "
        "checkpoint loads with these versions; use another family (`pagelens models` lists them)."
    )


@functools.cache
def _construction_problem(spec: BackendSpec) -> str | None:
    """`None` if the model class builds from a tiny config on the meta device, else the error it raised."""
    cls = import_backend_class(spec, spec.model_class)  # a ModelError if it cannot even be imported
    import torch
    from transformers.models.qwen2_5_omni import Qwen2_5OmniThinkerConfig

    try:
        with torch.device("meta"):
            cls(Qwen2_5OmniThinkerConfig(**_PROBE_CONFIG))
    except (AttributeError, TypeError, ValueError) as exc:
        logger.debug("%s cannot be constructed", spec.model_class, exc_info=True)
        return f"{type(exc).__name__}: {exc}"
    return None
