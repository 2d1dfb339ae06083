"""Make `import torchvision` work next to a CPU torch that does not match the installed torchvision build.

Where pip can only find a CUDA build of torchvision, importing it next to a CPU build of torch fails with
``RuntimeError: operator torchvision::nms does not exist``: torchvision registers fake (meta) kernels for its
compiled `nms` / `qnms` ops at import time, and those registrations need the op schemas, which the compiled
extension that failed to load would have defined. transformers imports torchvision for the Qwen2-VL and
Idefics3 image processors, so `import colpali_engine` fails too.

`ensure_torchvision_importable` defines the two schemas and imports torchvision again. Image transforms
then work; the compiled detection ops stay unavailable (pagelens never uses them). It acts ONLY when the
import fails in exactly that way: with a matching torch/torchvision pair, or with no torchvision at all, it
changes nothing.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

logger = logging.getLogger(__name__)

_MISSING_OP_MESSAGE = "operator torchvision::nms does not exist"
_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
# The Library object must stay alive: when it is garbage collected, torch removes the schemas it defined.
_fragment: Any = None
_checked = False


def ensure_torchvision_importable() -> None:
    """Call before importing colpali_engine or transformers' vision processors. Idempotent and cheap.

    If `import torchvision` fails with "operator torchvision::nms does not exist", define the `nms` and `qnms`
    schemas through `torch.library.Library("torchvision", "FRAGMENT")`, drop the half-imported torchvision
    modules and import it again. Any other outcome (success, torchvision not installed, another error) is left
    alone: the caller's own import reports it.
    """
    global _fragment, _checked
    if _checked:
        return
    _checked = True
    try:
        importlib.import_module("torchvision")
        return
    except ImportError:
        return  # not installed: transformers falls back to its PIL image processors
    except RuntimeError as exc:
        if _MISSING_OP_MESSAGE not in str(exc):
            raise

    import torch

    logger.info(
        "torchvision does not match torch (%s); defining its op schemas so it imports", _MISSING_OP_MESSAGE
    )
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    _fragment = torch.library.Library("torchvision", "FRAGMENT")
    for schema in _SCHEMAS:
        _fragment.define(schema)
    importlib.import_module("torchvision")
