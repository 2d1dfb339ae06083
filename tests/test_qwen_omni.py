"""ColQwen2.5-Omni: colpali-engine 0.3.18's `ColQwen2_5Omni` cannot be constructed with transformers 5, so
there is no tiny model of it (README, Models); loading such a checkpoint is a clear `ModelError`.

When an upgrade makes `test_colpali_engine_class_cannot_be_constructed` fail, the class builds: add the family
to `pagelens.testing.tiny_models` (the parametrised tests then cover it) and drop this file's refusal test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pagelens.embed import load_embedder
from pagelens.embed.registry import BACKENDS, import_object
from pagelens.embed.torchvision_compat import ensure_torchvision_importable
from pagelens.errors import ModelError

SPEC = BACKENDS["colqwen2_5omni"]


def _thinker_checkpoint(folder: Path) -> Path:
    """A saved, randomly initialised Qwen2.5-Omni thinker whose config.json names ColQwen2_5Omni, as a
    ColQwen2.5-Omni checkpoint's does (the projection head cannot be saved: its class does not build)."""
    import torch
    from transformers.models.qwen2_5_omni import (
        Qwen2_5OmniThinkerConfig,
        Qwen2_5OmniThinkerForConditionalGeneration,
    )

    from pagelens.embed.qwen_omni_backend import _PROBE_CONFIG

    torch.manual_seed(0)
    Qwen2_5OmniThinkerForConditionalGeneration(Qwen2_5OmniThinkerConfig(**_PROBE_CONFIG)).save_pretrained(
        folder
    )
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["ColQwen2_5Omni"]
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_colpali_engine_class_cannot_be_constructed() -> None:
    import torch
    from transformers.models.qwen2_5_omni import Qwen2_5OmniThinkerConfig

    from pagelens.embed.qwen_omni_backend import _PROBE_CONFIG

    ensure_torchvision_importable()
    cls = import_object(SPEC.model_class)
    with torch.device("meta"), pytest.raises(AttributeError, match="has no attribute 'visual'"):
        cls(Qwen2_5OmniThinkerConfig(**_PROBE_CONFIG))
    assert SPEC.tested_with == ""  # `pagelens models` does not claim a tested version


@pytest.mark.e2e
def test_loading_a_checkpoint_is_a_model_error_naming_the_missing_piece(tmp_path: Path) -> None:
    ensure_torchvision_importable()
    folder = _thinker_checkpoint(tmp_path / "colqwen-omni")
    with pytest.raises(AttributeError, match="'visual'"):  # what loading it directly does
        import_object(SPEC.model_class).from_pretrained(folder)

    with pytest.raises(ModelError) as caught:
        load_embedder(str(folder), device="cpu")
    message = str(caught.value)
    assert "'colqwen2_5omni'" in message and "ColQwen2_5Omni" in message
    assert "colpali-engine 0.3.18" in message and "transformers 5." in message
    assert "self.visual" in message and "self.model.visual" in message
    assert "AttributeError: 'ColQwen2_5Omni' object has no attribute 'visual'" in message
