"""How many pages go through the model at once when the caller does not say (`--batch-size` always wins).

One table, per model family (the backend keys of `pagelens.embed.registry`):

- on a CPU, the batch size measured fastest for the family's full-size config with random weights
  (bench/pipeline_bench.py; numbers and machine in bench/results/pipeline-cpu.md). A full-size page is
  hundreds to thousands of tokens, so one page already fills a CPU's matrix units: larger batches only add
  padding and memory.
- on CUDA / MPS, a memory rule: the batch is the free accelerator memory after the model is loaded, times
  `MEMORY_FRACTION`, divided by the activation memory of one page, rounded down to a power of two and capped
  at `MAX_ACCELERATOR_BATCH`. One page's activation memory is estimated from the full-size config (`Tower`):
  for the vision tower and for the language model, the peak working set of one layer in bfloat16,

      tokens x (4 x hidden + 2 x intermediate) x 2 bytes      (hidden states in/out, q/k/v, MLP activations)
    + heads x tokens^2 x 2 bytes                              (attention scores, if the kernel materialises them)

  and the larger of the two counts. Measured GPU numbers should replace these estimates when a GPU is lent.

Families without a row (plugins) get `FALLBACK`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)

#: Share of the free accelerator memory that activations may take (the rest: allocator slack, other work).
MEMORY_FRACTION = 0.5
#: Beyond this a GPU gains little for these models and a failed batch costs more pages to redo.
MAX_ACCELERATOR_BATCH = 32
#: Bytes per activation value on an accelerator (bfloat16, see `pagelens.embed.device.default_dtype`).
ACTIVATION_BYTES = 2


@dataclass(frozen=True)
class Tower:
    """One transformer stack's size for one page: tokens it sees, width, MLP width, attention heads."""

    tokens: int
    hidden: int
    intermediate: int
    heads: int

    def peak_bytes(self, value_bytes: int = ACTIVATION_BYTES) -> int:
        states = self.tokens * (4 * self.hidden + 2 * self.intermediate)
        scores = self.heads * self.tokens * self.tokens
        return (states + scores) * value_bytes


@dataclass(frozen=True)
class FamilyBatching:
    """A family's batch-size data: the measured CPU default and its per-page towers (full-size config)."""

    cpu: int
    vision: Tower
    text: Tower
    source: str = ""

    def page_bytes(self) -> int:
        """Estimated activation bytes of one page on an accelerator (bfloat16)."""
        return max(self.vision.peak_bytes(), self.text.peak_bytes())


_QWEN2_VISION = Tower(tokens=3072, hidden=1280, intermediate=5120, heads=16)  # 768 tokens x 2 x 2 patches
_SIGLIP_B_TILES = Tower(tokens=13 * 1024, hidden=768, intermediate=3072, heads=12)  # ~13 tiles of 512 px
_MEASURED = "measured: bench/results/pipeline-cpu.md"
_SAME_AS = "not measured here; set like the measured families (one full-size page fills a CPU)"

#: The batch-size table. Keys are backend keys; hf-* rows share their backbone's sizes.
BATCHING: dict[str, FamilyBatching] = {
    "colqwen2": FamilyBatching(1, _QWEN2_VISION, Tower(800, 1536, 8960, 12), _SAME_AS),
    "colqwen2_5": FamilyBatching(1, Tower(3072, 1280, 3420, 16), Tower(800, 2048, 11008, 16), _SAME_AS),
    "colqwen3": FamilyBatching(1, Tower(5120, 1024, 4096, 16), Tower(1300, 2560, 9728, 32), _SAME_AS),
    "colqwen3_5": FamilyBatching(1, Tower(5120, 1024, 4096, 16), Tower(1300, 2560, 9728, 16), _SAME_AS),
    "colqwen2_5omni": FamilyBatching(1, Tower(3072, 1280, 5120, 16), Tower(800, 2048, 11008, 16), _SAME_AS),
    "colpali": FamilyBatching(1, Tower(1024, 1152, 4304, 16), Tower(1040, 2048, 16384, 8), _SAME_AS),
    "colgemma3": FamilyBatching(1, Tower(4096, 1152, 4304, 16), Tower(300, 2560, 10240, 8), _SAME_AS),
    "colidefics3": FamilyBatching(1, _SIGLIP_B_TILES, Tower(850, 576, 1536, 9), _SAME_AS),
    "colmodernvbert": FamilyBatching(1, _SIGLIP_B_TILES, Tower(900, 768, 1152, 12), _MEASURED),
    "hf-neomme": FamilyBatching(1, Tower(2100, 1024, 3584, 16), Tower(2100, 1024, 3584, 16), _SAME_AS),
}
BATCHING["hf-colpali"] = BATCHING["colpali"]
BATCHING["hf-colqwen2"] = BATCHING["colqwen2"]
BATCHING["hf-colmodernvbert"] = BATCHING["colmodernvbert"]

#: For families without a row: CPU 1, and the largest page estimate in the table on an accelerator.
FALLBACK = FamilyBatching(
    1, max((b.vision for b in BATCHING.values()), key=Tower.peak_bytes), Tower(1, 1, 1, 1), "fallback"
)


def batching_for(family: str | None) -> FamilyBatching:
    return BATCHING.get(family or "", FALLBACK)


def accelerator_batch_size(free_bytes: int, page_bytes: int) -> int:
    """`MEMORY_FRACTION` of `free_bytes` over `page_bytes`, as a power of two in [1, MAX_ACCELERATOR_BATCH]."""
    fits = int(free_bytes * MEMORY_FRACTION // max(page_bytes, 1))
    batch = 1
    while batch * 2 <= min(fits, MAX_ACCELERATOR_BATCH):
        batch *= 2
    return batch


def default_batch_size(device: str, family: str | None = None, free_bytes: int | None = None) -> int:
    """The batch size for `family` on `device` ("cpu", "cuda", "cuda:N", "mps").

    On an accelerator, `free_bytes` is its free memory (read from torch when None: call this after the
    model is loaded, so that its weights are already counted out).
    """
    entry = batching_for(family)
    if device == "cpu":
        return entry.cpu
    free = free_bytes if free_bytes is not None else free_accelerator_memory(device)
    if free is None:
        logger.warning("cannot read the free memory of %s; batch size 1 (pass --batch-size)", device)
        return 1
    batch = accelerator_batch_size(free, entry.page_bytes())
    logger.info(
        "batch size %d on %s for %s: %.1f GiB free, ~%.0f MiB of activations a page",
        batch,
        device,
        family,
        free / 2**30,
        entry.page_bytes() / 2**20,
    )
    return batch


def free_accelerator_memory(device: str) -> int | None:
    """Free bytes on a CUDA or MPS device, or None where torch cannot say."""
    import torch

    try:
        if device.startswith("cuda"):
            free, _total = torch.cuda.mem_get_info(torch.device(device))
            return int(free)
        if device == "mps":
            limit = int(torch.mps.recommended_max_memory())
            return max(limit - int(torch.mps.driver_allocated_memory()), 0)
    except (RuntimeError, AttributeError) as exc:
        logger.debug("free memory of %s unreadable: %s", device, exc)
    return None
