"""A corrupt or truncated checkpoint is one clear error naming the folder and the file (issue 12.3)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from pagelens.embed import load_embedder
from pagelens.errors import ModelError, PagelensError, UnsupportedModelError
from tiny_models import tiny_models_fixture  # noqa: F401


def _copy(tiny_models: Callable[[str], Path], tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(tiny_models("hf-colqwen2"), folder)
    return folder


def test_safetensors_cut_in_half(tiny_models: Callable[[str], Path], tmp_path: Path) -> None:
    folder = _copy(tiny_models, tmp_path)
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError) as info:
        load_embedder(str(folder), device="cpu")
    assert str(folder) in str(info.value) and "model.safetensors is truncated" in str(info.value)


def test_missing_shard_listed_in_index(tiny_models: Callable[[str], Path], tmp_path: Path) -> None:
    folder = _copy(tiny_models, tmp_path)
    (folder / "model.safetensors").rename(folder / "model-00001-of-00002.safetensors")
    index = {
        "metadata": {},
        "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"},
    }
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(ModelError, match="model-00002-of-00002.safetensors is missing"):
        load_embedder(str(folder), device="cpu")


def test_broken_config_json(tiny_models: Callable[[str], Path], tmp_path: Path) -> None:
    folder = _copy(tiny_models, tmp_path)
    text = (folder / "config.json").read_text()
    (folder / "config.json").write_text(text[: len(text) // 2])
    with pytest.raises(UnsupportedModelError) as info:
        load_embedder(str(folder), device="cpu")
    assert isinstance(info.value, PagelensError)
    assert "config.json" in str(info.value) and str(folder) in str(info.value)
