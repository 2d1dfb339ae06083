"""Which torch device, dtype and batch size a model runs with."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pagelens.errors import UsageError

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)


def resolve_device(device: str = "auto") -> str:
    """Turn "auto", "cpu", "cuda", "cuda:N" or "mps" into a torch device string that exists on this machine.

    "auto" picks cuda, then mps, then cpu. Asking for an accelerator that is not there is a `UsageError`.
    """
    import torch

    wanted = (device or "auto").strip().lower()
    cuda_ok = torch.cuda.is_available()
    mps_ok = _mps_available()
    if wanted == "auto":
        resolved = "cuda" if cuda_ok else "mps" if mps_ok else "cpu"
        logger.debug("device auto -> %s", resolved)
        return resolved
    if wanted == "cpu":
        return "cpu"
    if wanted == "mps":
        if not mps_ok:
            raise UsageError("device 'mps' was asked for but PyTorch reports no Apple MPS device here")
        return "mps"
    if wanted == "cuda" or wanted.startswith("cuda:"):
        if not cuda_ok:
            raise UsageError(
                f"device {device!r} was asked for but PyTorch reports no CUDA GPU here "
                f"(torch {torch.__version__}); use --device cpu or auto"
            )
        if ":" in wanted:
            index = wanted.split(":", 1)[1]
            if not index.isdigit() or int(index) >= torch.cuda.device_count():
                raise UsageError(
                    f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)"
                )
        return wanted
    raise UsageError(f"unknown device {device!r}: use auto, cpu, cuda, cuda:N or mps")


def default_dtype(device: str) -> torch.dtype:
    """bfloat16 on accelerators that support it (CUDA, recent Apple MPS), float32 everywhere else."""
    import torch

    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    if device == "mps":
        try:
            torch.ones(1, dtype=torch.bfloat16, device="mps")
        except (RuntimeError, TypeError):  # macOS < 14 has no bfloat16 on MPS
            return torch.float32
        return torch.bfloat16
    return torch.float32


def default_batch_size(device: str, family: str | None = None) -> int:
    """How many pages or queries go through the model at once unless the caller says otherwise: per device
    and model family, from the table in `pagelens.embed.batching` (measured on CPU, memory-based on GPU)."""
    from pagelens.embed.batching import default_batch_size as from_table

    return from_table(device, family)


def check_batch_size(batch_size: int | None, device: str, family: str | None = None) -> int:
    """`batch_size` if given (it always wins, after a check), else the default for `device` and `family`."""
    if batch_size is None:
        return default_batch_size(device, family)
    validate_batch_size(batch_size)
    return batch_size


def validate_batch_size(batch_size: int | None) -> None:
    """A `UsageError` for anything but None or a positive integer."""
    if batch_size is None:
        return
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise UsageError(f"batch size must be a positive integer, got {batch_size!r}")


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
