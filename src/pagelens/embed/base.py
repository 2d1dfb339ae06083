"""What every torch backend shares: batching, inference mode, padding removal, image sizing, load errors.

Imported only when a model is loaded (it imports torch).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from PIL import Image

from pagelens.embed.checkpoint import Checkpoint, check_weight_files, download_hint
from pagelens.embed.device import check_batch_size, default_dtype, resolve_device, validate_batch_size
from pagelens.embed.registry import BackendSpec, ImageSideRule, import_backend_class
from pagelens.embed.torchvision_compat import ensure_torchvision_importable
from pagelens.errors import ModelError, ModelNotAvailableError

logger = logging.getLogger(__name__)

#: Qwen2-VL-family retrievers were trained with at most 768 visual tokens of 28 x 28 pixels per page.
QWEN_TRAINING_MAX_PIXELS = 768 * 28 * 28
#: Pages are rendered at twice a fixed-size processor's input side, so that its own (antialiased) downscale
#: does the resampling rather than the rasteriser's pixel grid.
FIXED_SIZE_OVERSAMPLING = 2

T = TypeVar("T")
E = TypeVar("E", bound="TorchEmbedder")


class TorchEmbedder:
    """An `Embedder` around a torch model and its processor. Backends fill in the three hooks below."""

    def __init__(
        self,
        *,
        model_id: str,
        spec: BackendSpec,
        model: Any,
        processor: Any,
        device: str,
        dtype: torch.dtype,
        batch_size: int,
        dim: int,
        image_side: int,
    ) -> None:
        self.model_id = model_id
        self.backend = spec.key
        self.spec = spec
        self.model = model
        self.processor = processor
        self.device = device
        self.dtype = dtype
        self.batch_size = batch_size
        self.dim = dim
        self.image_side = image_side

    @classmethod
    def load(
        cls: type[E],
        checkpoint: Checkpoint,
        spec: BackendSpec,
        *,
        device: str = "auto",
        batch_size: int | None = None,
    ) -> E:
        """Load the model and processor named by `spec` from `checkpoint` onto `device`."""
        ensure_torchvision_importable()
        resolved = resolve_device(device)
        dtype = default_dtype(resolved)  # bfloat16 on CUDA / MPS where supported, float32 on CPU
        validate_batch_size(batch_size)  # before the (slow) load
        for part in (checkpoint, checkpoint.base):
            if part is not None and part.is_local:
                check_weight_files(part.name, Path(part.location))
        model_kwargs: dict[str, Any] = {"dtype": dtype}
        if resolved != "cpu":
            model_kwargs["device_map"] = resolved
        model = load_pretrained(checkpoint, spec, spec.model_class, "model", **model_kwargs).eval()
        processor = load_pretrained(checkpoint, spec, spec.processor_class, "processor")
        # after the load: on an accelerator the default reads the memory the weights left free
        size = check_batch_size(batch_size, resolved, spec.key)
        embedder = cls(
            model_id=checkpoint.name,
            spec=spec,
            model=model,
            processor=processor,
            device=resolved,
            dtype=dtype,
            batch_size=size,
            dim=model_dim(model),
            image_side=image_side_for(spec.image_side_rule, processor.image_processor),
        )
        logger.info("loaded %r", embedder)
        return embedder

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(model_id={self.model_id!r}, backend={self.backend!r}, "
            f"device={self.device!r}, dtype={str(self.dtype).removeprefix('torch.')}, dim={self.dim}, "
            f"image_side={self.image_side}, batch_size={self.batch_size})"
        )

    # -- the Embedder protocol ---------------------------------------------------------------------

    def embed_images(self, images: Sequence[Image.Image]) -> list[np.ndarray]:
        rgb = [image if image.mode == "RGB" else image.convert("RGB") for image in images]
        return self._embed(rgb, self._image_inputs)

    def embed_queries(self, queries: Sequence[str]) -> list[np.ndarray]:
        return self._embed(list(queries), self._query_inputs)

    # -- hooks for backends ------------------------------------------------------------------------

    def _image_inputs(self, images: list[Image.Image]) -> Mapping[str, Any]:
        raise NotImplementedError

    def _query_inputs(self, queries: list[str]) -> Mapping[str, Any]:
        raise NotImplementedError

    def _forward(self, inputs: dict[str, Any]) -> torch.Tensor:
        """(batch, sequence, dim) embeddings for one processed batch."""
        raise NotImplementedError

    # -- shared machinery --------------------------------------------------------------------------

    def _embed(self, items: list[T], prepare: Callable[[list[T]], Mapping[str, Any]]) -> list[np.ndarray]:
        results: list[np.ndarray] = []
        for start in range(0, len(items), self.batch_size):
            inputs = self._to_device(prepare(items[start : start + self.batch_size]))
            with torch.inference_mode():
                embeddings = self._forward(inputs)
            # one transfer per batch; boolean indexing copies each item's real (unpadded) rows out of it
            embeddings = embeddings.to("cpu", torch.float32)
            mask = inputs["attention_mask"].to("cpu").bool()
            for row, keep in zip(embeddings, mask, strict=True):
                results.append(row[keep].numpy())
        return results

    def _to_device(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        moved: dict[str, Any] = {}
        for key, value in inputs.items():
            if isinstance(value, torch.Tensor):
                if value.is_floating_point():
                    value = value.to(self.device, dtype=self.dtype)
                else:
                    value = value.to(self.device)
            moved[key] = value
        return moved


# -- loading helpers shared by the backends -------------------------------------------------------


def load_pretrained(checkpoint: Checkpoint, spec: BackendSpec, target: str, what: str, **kwargs: Any) -> Any:
    """`from_pretrained` of the class named by `target` ("module:attr"), with pagelens errors.

    For adapters whose processor files are missing, the base model's are used (`what` == "processor").
    """
    cls = import_backend_class(spec, target)
    kwargs.setdefault("local_files_only", checkpoint.local_files_only)
    try:
        return cls.from_pretrained(checkpoint.location, **kwargs)
    except (OSError, ValueError, TypeError) as exc:
        if what == "processor" and checkpoint.base is not None:
            logger.info(
                "%s: no usable processor in the adapter (%s); using the base model's", checkpoint.name, exc
            )
            base_kwargs = dict(kwargs, local_files_only=checkpoint.base.local_files_only)
            try:
                return cls.from_pretrained(checkpoint.base.location, **base_kwargs)
            except (OSError, ValueError, TypeError):
                pass
        raise _load_error(checkpoint, what, exc) from exc
    except (RuntimeError, KeyError, AttributeError) as exc:
        raise _load_error(checkpoint, what, exc) from exc


def _load_error(checkpoint: Checkpoint, what: str, exc: BaseException) -> ModelError:
    message = f"cannot load the {what} of {checkpoint.name}: {type(exc).__name__}: {exc}"
    if isinstance(exc, OSError) and not checkpoint.is_local:
        return ModelNotAvailableError(f"{message}. {download_hint(checkpoint.name)}")
    return ModelError(message)


def image_side_for(rule: ImageSideRule, image_processor: Any) -> int:
    """Preferred long side (pixels) to render pages at for this image processor.

    - fixed (PaliGemma): the processor squashes every page to height x width (448 x 448); render at twice
      that.
    - max_pixels (Qwen2-VL family): the processor keeps the aspect ratio and scales to a pixel budget (capped
      here at the 768 x 28 x 28 pixels the ColQwen retrievers were trained with); render so that pages as
      elongated as 1:2 still reach the budget: long side sqrt(2 x budget), 1,098 px for the 768-token budget.
    - longest_edge (Idefics3, ModernVBert): the processor scales the long side to exactly
      `size["longest_edge"]`.
    - max_side (NeoMME): native resolution, long side capped at `max_side` when the checkpoint sets one.
    """
    size = _size_dict(image_processor)
    if rule == "fixed":
        side = max(
            int(size.get("height") or 0), int(size.get("width") or 0), int(size.get("shortest_edge") or 0)
        )
        return FIXED_SIZE_OVERSAMPLING * side if side else 896
    if rule == "max_pixels":
        budget = (
            size.get("longest_edge") or size.get("max_pixels") or getattr(image_processor, "max_pixels", None)
        )
        budget = int(budget) if budget else QWEN_TRAINING_MAX_PIXELS
        return math.ceil(math.sqrt(2 * min(budget, QWEN_TRAINING_MAX_PIXELS)))
    if rule == "max_side":
        cap = getattr(image_processor, "max_side", None)
        return int(cap) if cap else 1456
    longest = size.get("longest_edge")
    return int(longest) if longest else 1456


def _size_dict(image_processor: Any) -> dict[str, Any]:
    size = getattr(image_processor, "size", None)
    if size is None:
        return {}
    if isinstance(size, Mapping):
        return dict(size)
    # transformers 5 may hold a SizeDict dataclass-like object
    return {
        k: getattr(size, k) for k in ("height", "width", "shortest_edge", "longest_edge") if hasattr(size, k)
    }


def model_dim(model: Any, default: int = 128) -> int:
    """The embedding dimension a retrieval model projects to."""
    for attr in ("dim", "embedding_dim"):
        value = getattr(model, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    value = getattr(getattr(model, "config", None), "embedding_dim", None)
    return value if isinstance(value, int) and value > 0 else default
