"""The table of model backends, and how a checkpoint's own config files pick one.

A backend is chosen from what the checkpoint says about itself, never from its name:

======================  ========================================  ==============================
config.json model_type  model class                               processor class
======================  ========================================  ==============================
"colpali"               transformers.ColPaliForRetrieval          transformers.ColPaliProcessor
"colqwen2"              transformers.ColQwen2ForRetrieval         transformers.ColQwen2Processor
"paligemma"             colpali_engine.models.ColPali             ColPaliProcessor
"qwen2_vl"              colpali_engine.models.ColQwen2            ColQwen2Processor
"qwen2_5_vl"            colpali_engine.models.ColQwen2_5          ColQwen2_5_Processor
"idefics3"              colpali_engine.models.ColIdefics3         ColIdefics3Processor
======================  ========================================  ==============================

For a PEFT adapter checkpoint without a config.json of its own, the base model's config.json counts.

The colpali-engine rows need either a ColPali-family class in `architectures` (ColPali, ColQwen2, ColQwen2_5,
ColIdefics3), or an adapter checkpoint (the retrieval head then comes with the adapter), or no `architectures`
at all. A plain vision-language model (e.g. architectures ["PaliGemmaForConditionalGeneration"]) has no
multi-vector projection head and is refused instead of producing garbage. Everything else raises
`UnsupportedModelError` naming what was found.

Classes are named as "module:attr" strings and imported only when a model is loaded.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import Any, Literal

from pagelens.embed.checkpoint import Checkpoint
from pagelens.errors import UnsupportedModelError

logger = logging.getLogger(__name__)

#: How a backend's processor sizes images, which decides `Embedder.image_side`:
#: "fixed": resized to a fixed height x width (PaliGemma's 448 x 448);
#: "max_pixels": resized to fit a pixel budget keeping the aspect ratio (Qwen2-VL's min/max_pixels);
#: "longest_edge": long side resized to `size["longest_edge"]`, then tiled (Idefics3).
ImageSideRule = Literal["fixed", "max_pixels", "longest_edge"]

_ENGINE = "pagelens.embed.colpali_engine_backend:ColpaliEngineEmbedder"
_TRANSFORMERS = "pagelens.embed.transformers_backend:TransformersEmbedder"


@dataclass(frozen=True)
class BackendSpec:
    """One row of the backend table."""

    key: str
    description: str
    embedder: str  # "module:attr" of the pagelens Embedder class that runs it
    model_class: str  # "module:attr" of the model class
    processor_class: str  # "module:attr" of the processor class
    image_side_rule: ImageSideRule


BACKENDS: dict[str, BackendSpec] = {
    spec.key: spec
    for spec in (
        BackendSpec(
            "colpali",
            "ColPali (PaliGemma) via colpali-engine",
            _ENGINE,
            "colpali_engine.models:ColPali",
            "colpali_engine.models:ColPaliProcessor",
            "fixed",
        ),
        BackendSpec(
            "colqwen2",
            "ColQwen2 (Qwen2-VL) via colpali-engine",
            _ENGINE,
            "colpali_engine.models:ColQwen2",
            "colpali_engine.models:ColQwen2Processor",
            "max_pixels",
        ),
        BackendSpec(
            "colqwen2_5",
            "ColQwen2.5 (Qwen2.5-VL) via colpali-engine",
            _ENGINE,
            "colpali_engine.models:ColQwen2_5",
            "colpali_engine.models:ColQwen2_5_Processor",
            "max_pixels",
        ),
        BackendSpec(
            "colidefics3",
            "ColIdefics3 / ColSmol (Idefics3) via colpali-engine",
            _ENGINE,
            "colpali_engine.models:ColIdefics3",
            "colpali_engine.models:ColIdefics3Processor",
            "longest_edge",
        ),
        BackendSpec(
            "hf-colpali",
            "ColPaliForRetrieval via transformers",
            _TRANSFORMERS,
            "transformers:ColPaliForRetrieval",
            "transformers:ColPaliProcessor",
            "fixed",
        ),
        BackendSpec(
            "hf-colqwen2",
            "ColQwen2ForRetrieval via transformers",
            _TRANSFORMERS,
            "transformers:ColQwen2ForRetrieval",
            "transformers:ColQwen2Processor",
            "max_pixels",
        ),
    )
}

#: transformers-native retrieval configs: the model_type alone identifies them.
NATIVE_MODEL_TYPES: dict[str, str] = {"colpali": "hf-colpali", "colqwen2": "hf-colqwen2"}
#: colpali-engine families by the backbone's model_type (it decides the config class the model is built from).
ENGINE_MODEL_TYPES: dict[str, str] = {
    "paligemma": "colpali",
    "qwen2_vl": "colqwen2",
    "qwen2_5_vl": "colqwen2_5",
    "idefics3": "colidefics3",
}
#: colpali-engine class names as written in `architectures`.
ENGINE_ARCHITECTURES: dict[str, str] = {
    "ColPali": "colpali",
    "ColQwen2": "colqwen2",
    "ColQwen2_5": "colqwen2_5",
    "ColIdefics3": "colidefics3",
}


def select_backend(checkpoint: Checkpoint) -> BackendSpec:
    """The backend for `checkpoint`, from its config.json (or its adapter's base model's config.json)."""
    config = checkpoint.model_config
    model_type = config.get("model_type")
    architectures = [a for a in (config.get("architectures") or []) if isinstance(a, str)]

    if model_type in NATIVE_MODEL_TYPES:
        return BACKENDS[NATIVE_MODEL_TYPES[model_type]]

    if model_type in ENGINE_MODEL_TYPES:
        key = ENGINE_MODEL_TYPES[model_type]
        named = [ENGINE_ARCHITECTURES[a] for a in architectures if a in ENGINE_ARCHITECTURES]
        if named and named[0] != key:
            logger.warning(
                "%s: architectures %s disagree with model_type %r; following model_type (%s)",
                checkpoint.name,
                architectures,
                model_type,
                BACKENDS[key].description,
            )
        if named or checkpoint.is_adapter or not architectures:
            return BACKENDS[key]
        raise UnsupportedModelError(
            f"{checkpoint.name}: config.json describes a plain {', '.join(architectures)} ({model_type}) "
            "vision-language model, not a ColPali-family retriever: it has no multi-vector projection head. "
            f"Use a retrieval checkpoint trained from it (architectures {sorted(ENGINE_ARCHITECTURES)}), "
            "or a PEFT adapter on top of it."
        )

    where = (
        f"the base model {checkpoint.base.name}'s config.json"
        if checkpoint.config is None and checkpoint.base
        else "config.json"
    )
    raise UnsupportedModelError(
        f"{checkpoint.name} is not a model pagelens can run: {where} has model_type={model_type!r}, "
        f"architectures={architectures}. Supported: {supported_models()}."
    )


def supported_models() -> str:
    """One line naming every supported family and its config model_type."""
    engine = ", ".join(f"{arch} ({mt})" for mt, arch in _engine_names())
    native = ", ".join(
        f"{BACKENDS[k].model_class.split(':')[1]} ({mt})" for mt, k in NATIVE_MODEL_TYPES.items()
    )
    return f"colpali-engine {engine}; transformers {native}"


def _engine_names() -> list[tuple[str, str]]:
    by_key = {key: arch for arch, key in ENGINE_ARCHITECTURES.items()}
    return [(mt, by_key[key]) for mt, key in ENGINE_MODEL_TYPES.items()]


def import_object(target: str) -> Any:
    """Import "package.module:attr" and return the attribute."""
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)
