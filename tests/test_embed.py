"""pagelens.embed against tiny, randomly initialised models of every family: real classes, no mocks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pagelens.embed import Embedder, load_embedder
from pagelens.errors import ModelNotAvailableError, UnsupportedModelError, UsageError
from tiny_models import (  # noqa: F401  (tiny_models_fixture registers the `tiny_models` fixture)
    EXPECTED_MODEL_CLASS,
    TINY_DIMS,
    TINY_FAMILIES,
    tiny_models_fixture,
    write_config,
)

EXPECTED_BACKEND = {
    family: "TransformersEmbedder" if family.startswith("hf-") else "ColpaliEngineEmbedder"
    for family in TINY_FAMILIES
} | {"hf-neomme": "NeoMMEEmbedder"}
QUERIES = ["tables", "Where is the ColBERT performance table in the annual report?", "revenue chart 2024"]

TinyModels = Callable[[str], Path]


def _images() -> list[Image.Image]:
    """Three noise images of different sizes and aspect ratios (one not RGB)."""
    rng = np.random.default_rng(0)
    sizes = [(40, 60), (90, 50), (64, 64)]
    images = [Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)) for w, h in sizes]
    images[2] = images[2].convert("L")
    return images


@pytest.fixture(scope="module")
def embedders(tiny_models: TinyModels) -> Callable[..., Any]:
    """Load each (family, batch_size) once per module."""
    loaded: dict[tuple[str, int | None], Any] = {}

    def get(family: str, batch_size: int | None = None) -> Any:
        if (family, batch_size) not in loaded:
            loaded[family, batch_size] = load_embedder(
                str(tiny_models(family)), device="cpu", batch_size=batch_size
            )
        return loaded[family, batch_size]

    return get


def _direct(family: str, folder: Path, images: list[Image.Image], queries: list[str]) -> list[np.ndarray]:
    """Embeddings from the model class used directly, as its own documentation shows, one input at a time (so
    that no padding is involved)."""
    import torch

    from pagelens.embed.registry import BACKENDS, import_object

    spec = BACKENDS[family]
    model = import_object(spec.model_class).from_pretrained(folder).eval()
    processor = import_object(spec.processor_class).from_pretrained(folder)
    native = family.startswith("hf-")
    if family == "hf-neomme":  # formatted by the checkpoint's retrieval chat template, as NeoMME documents

        def neomme(content: dict[str, Any], task: str) -> Any:
            return processor.apply_chat_template(
                [[{"role": "user", "content": [content]}]],
                task=task,
                tokenize=True,
                return_dict=True,
                return_tensors="pt",
            )

        batches = [neomme({"type": "image", "image": i}, "document") for i in images]
        batches += [neomme({"type": "text", "text": q}, "query") for q in queries]
    elif native:
        batches = [processor.process_images(images=[i]) for i in images]
        batches += [processor.process_queries(text=[q]) for q in queries]
    else:
        batches = [processor.process_images([i]) for i in images] + [
            processor.process_queries([q]) for q in queries
        ]
    out: list[np.ndarray] = []
    with torch.inference_mode():
        for batch in batches:
            embeddings = model(**batch)
            embeddings = embeddings.embeddings if native else embeddings
            for row, mask in zip(embeddings, batch["attention_mask"].bool(), strict=True):
                out.append(row[mask].float().numpy())
    return out


def _check_vectors(arrays: list[np.ndarray], count: int, dim: int = 128) -> None:
    assert len(arrays) == count
    for array in arrays:
        assert isinstance(array, np.ndarray)
        assert array.dtype == np.float32
        assert array.ndim == 2 and array.shape[1] == dim and array.shape[0] > 0
        assert np.isfinite(array).all()
        np.testing.assert_allclose(np.linalg.norm(array, axis=1), 1.0, atol=1e-4)  # no zeroed padding rows


# --- per family ------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", TINY_FAMILIES)
def test_backend_is_chosen_from_config(
    family: str, embedders: Callable[..., Any], tiny_models: TinyModels
) -> None:
    from pagelens.embed.registry import import_object

    embedder = embedders(family)
    assert isinstance(embedder, Embedder)
    assert type(embedder).__name__ == EXPECTED_BACKEND[family]
    assert type(embedder.model) is import_object(EXPECTED_MODEL_CLASS[family])
    assert embedder.model_id == str(tiny_models(family))
    assert embedder.dim == TINY_DIMS[family]
    assert embedder.device == "cpu"
    assert isinstance(embedder.image_side, int) and 28 <= embedder.image_side <= 128


@pytest.mark.parametrize("family", TINY_FAMILIES)
def test_embeddings_shape_norm_determinism_and_batching(family: str, embedders: Callable[..., Any]) -> None:
    images = _images()
    embedder = embedders(family)

    pages = embedder.embed_images(images[:2])
    _check_vectors(pages, 2, TINY_DIMS[family])
    queries = embedder.embed_queries(QUERIES[:2])
    _check_vectors(queries, 2, TINY_DIMS[family])
    assert queries[0].shape[0] < queries[1].shape[0]  # padding removed: lengths differ

    again_pages = embedder.embed_images(images[:2])
    again_queries = embedder.embed_queries(QUERIES[:2])
    for a, b in zip(pages + queries, again_pages + again_queries, strict=True):
        np.testing.assert_array_equal(a, b)

    # batch-size invariance (for ColPali queries this guards the token_type_ids correction in the backend)
    one_by_one = embedders(family, 1)
    all_at_once = embedders(family, 3)
    single = one_by_one.embed_images(images) + one_by_one.embed_queries(QUERIES)
    batched = all_at_once.embed_images(images) + all_at_once.embed_queries(QUERIES)
    for a, b in zip(single, batched, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=2e-5)
    assert embedder.embed_images([]) == [] and embedder.embed_queries([]) == []


@pytest.mark.parametrize("family", TINY_FAMILIES)
def test_matches_model_class_used_directly(
    family: str,
    embedders: Callable[..., Any],
    tiny_models: TinyModels,
) -> None:
    images = [image.convert("RGB") for image in _images()]
    embedder = embedders(family, 3)
    ours = embedder.embed_images(images) + embedder.embed_queries(QUERIES)
    theirs = _direct(family, tiny_models(family), images, QUERIES)
    for a, b in zip(ours, theirs, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=1e-5)


# --- adapters --------------------------------------------------------------------------------------


def test_peft_adapter_uses_base_config(embedders: Callable[..., Any], tiny_models: TinyModels) -> None:
    folder = tiny_models("colqwen2-lora")
    assert not (folder / "config.json").exists() and (folder / "adapter_config.json").exists()
    adapter = embedders("colqwen2-lora")
    assert adapter.backend == "colqwen2"
    assert getattr(adapter.model, "peft_config", None)  # the adapter really was applied
    base = embedders("colqwen2")
    ours = adapter.embed_queries(QUERIES)
    _check_vectors(ours, 3)
    assert not np.allclose(ours[1], base.embed_queries(QUERIES)[1], atol=1e-3)
    theirs = _direct("colqwen2", folder, [], QUERIES)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_adapter_with_missing_base_is_not_available(tmp_path: Path) -> None:
    folder = write_config(
        tmp_path / "adapter",
        {"base_model_name_or_path": str(tmp_path / "gone"), "peft_type": "LORA"},
        "adapter_config.json",
    )
    with pytest.raises(ModelNotAvailableError, match="base model"):
        load_embedder(str(folder))


# --- refusals --------------------------------------------------------------------------------------


def test_unknown_model_type_is_unsupported(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "bert", {"model_type": "bert", "architectures": ["BertModel"]})
    with pytest.raises(UnsupportedModelError) as info:
        load_embedder(str(folder))
    assert "bert" in str(info.value) and str(folder) in str(info.value)


def test_plain_vision_language_model_is_unsupported(tmp_path: Path) -> None:
    config = {"model_type": "paligemma", "architectures": ["PaliGemmaForConditionalGeneration"]}
    folder = write_config(tmp_path / "paligemma", config)
    with pytest.raises(UnsupportedModelError, match="PaliGemmaForConditionalGeneration"):
        load_embedder(str(folder))


def test_folder_without_config_is_unsupported(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedModelError, match="config.json"):
        load_embedder(str(tmp_path))


def test_missing_folder_is_not_available(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailableError, match="does not exist"):
        load_embedder(str(tmp_path / "nope"))


def test_bad_device_and_batch_size(tiny_models: TinyModels) -> None:
    import torch

    folder = str(tiny_models("hf-colqwen2"))
    if not torch.cuda.is_available():
        with pytest.raises(UsageError, match="cuda"):
            load_embedder(folder, device="cuda")
    with pytest.raises(UsageError, match="device"):
        load_embedder(folder, device="tpu")
    with pytest.raises(UsageError, match="batch size"):
        load_embedder(folder, batch_size=0)


# --- the Hub, without Hub access -------------------------------------------------------------------

_HUB_SCRIPT = """
import time, sys
t = time.monotonic()
from pagelens.embed import load_embedder
from pagelens.errors import ModelNotAvailableError
try:
    load_embedder(sys.argv[1])
except ModelNotAvailableError as exc:
    print(f"{time.monotonic() - t:.2f}")
    print(exc)
else:
    print("loaded")
"""


def _hub_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_", "HUGGINGFACE_"))}
    # a closed local port stands in for "no Hub access", whether or not this machine has internet; an empty
    # cache makes sure nothing is found there
    env.update(HF_ENDPOINT="http://127.0.0.1:9", HF_HOME=str(tmp_path / "hf_home"), **extra)
    return env


@pytest.mark.parametrize("offline", [False, True], ids=["unreachable", "HF_HUB_OFFLINE"])
def test_hub_model_without_hub_access_fails_fast(tmp_path: Path, offline: bool) -> None:
    name = "vidore/colqwen2.5-v0.2"
    env = _hub_env(tmp_path, **({"HF_HUB_OFFLINE": "1"} if offline else {}))
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", _HUB_SCRIPT, name], env=env, capture_output=True, text=True, timeout=60
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    seconds, message = result.stdout.split("\n", 1)
    assert float(seconds) < 15 and elapsed < 30
    assert name in message and "--local-dir" in message and "--model" in message


def test_hub_model_from_local_cache_when_offline(tmp_path: Path, tiny_models: TinyModels) -> None:
    """A Hub model already in the Hugging Face cache is found without the Hub, and loaded from the cache
    only."""
    name = "pagelens-test/tiny-colqwen2"
    snapshot = (
        tmp_path / "hf_home" / "hub" / "models--pagelens-test--tiny-colqwen2" / "snapshots" / ("0" * 40)
    )
    snapshot.mkdir(parents=True)
    for file in tiny_models("hf-colqwen2").iterdir():
        (snapshot / file.name).write_bytes(file.read_bytes())
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("0" * 40)
    script = (
        "import sys; from pagelens.embed.checkpoint import locate_checkpoint; "
        "from pagelens.embed.registry import select_backend; c = locate_checkpoint(sys.argv[1]); "
        "print(c.location, c.local_files_only, select_backend(c).key)"
    )
    for extra in ({}, {"HF_HUB_OFFLINE": "1"}):
        result = subprocess.run(
            [sys.executable, "-c", script, name],
            env=_hub_env(tmp_path, **extra),
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == [name, "True", "hf-colqwen2"]


# --- import cost and the torchvision workaround ----------------------------------------------------


def test_import_does_not_load_torch() -> None:
    code = (
        "import sys, pagelens.embed\n"
        "heavy = ('torch', 'transformers', 'colpali_engine')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_torchvision_is_importable_after_compat() -> None:
    """Whether or not this machine's torchvision matches its torch, it imports after the compat call."""
    code = (
        "from pagelens.embed.torchvision_compat import ensure_torchvision_importable\n"
        "ensure_torchvision_importable(); ensure_torchvision_importable()\n"
        "import torchvision.transforms.v2.functional as F, torch\n"
        "assert F.resize(torch.zeros(3, 8, 8), [4, 4], antialias=True).shape == (3, 4, 4)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_registry_names_only_import_strings() -> None:
    from pagelens.embed.registry import BACKENDS

    # every built-in backend has a tiny model, except the one that cannot be built here (README, Models)
    assert set(BACKENDS) == set(TINY_FAMILIES) | {"colqwen2_5omni"}
    for spec in BACKENDS.values():
        for target in (spec.embedder, spec.model_class, spec.processor_class):
            assert isinstance(target, str) and ":" in target


def test_config_json_drives_choice_not_name(tmp_path: Path) -> None:
    """A folder named like one family but configured as another follows its config."""
    from pagelens.embed.checkpoint import locate_checkpoint
    from pagelens.embed.registry import select_backend

    folder = write_config(
        tmp_path / "colpali-v1.3", {"model_type": "qwen2_5_vl", "architectures": ["ColQwen2_5"]}
    )
    assert select_backend(locate_checkpoint(str(folder))).key == "colqwen2_5"
    folder = write_config(
        tmp_path / "colqwen2-hf", {"model_type": "colpali", "architectures": ["ColPaliForRetrieval"]}
    )
    assert select_backend(locate_checkpoint(str(folder))).key == "hf-colpali"
    assert json.loads((folder / "config.json").read_text())["model_type"] == "colpali"
