"""Batch size per device and model family (issue 14.5): one table (pagelens.embed.batching), the CPU value
measured, the accelerator value from free memory, `--batch-size` always winning, bfloat16 on a GPU."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pagelens.embed.batching import (
    BATCHING,
    FALLBACK,
    MAX_ACCELERATOR_BATCH,
    MEMORY_FRACTION,
    accelerator_batch_size,
    batching_for,
    default_batch_size,
)
from pagelens.embed.registry import BACKENDS
from pagelens.errors import UsageError

GIB = 2**30


def test_every_builtin_family_has_a_row_and_plugins_fall_back() -> None:
    assert set(BACKENDS) <= set(BATCHING)
    assert batching_for("some-plugin-family") is FALLBACK
    assert batching_for(None) is FALLBACK
    for family, entry in BATCHING.items():
        assert entry.cpu >= 1, family
        assert entry.page_bytes() > 0, family
    # the fallback assumes the most memory-hungry page in the table, so it never overcommits
    assert FALLBACK.page_bytes() >= max(e.vision.peak_bytes() for e in BATCHING.values())


@pytest.mark.parametrize("family", sorted(BATCHING))
def test_cpu_default_is_the_table_value(family: str) -> None:
    assert default_batch_size("cpu", family) == BATCHING[family].cpu


def test_accelerator_rule_fits_the_free_memory() -> None:
    page = BATCHING["colqwen2_5"].page_bytes()
    previous = 0
    for free in (0, page, 3 * page, 10 * page, 100 * page, 80 * GIB, 1000 * GIB):
        batch = accelerator_batch_size(free, page)
        assert 1 <= batch <= MAX_ACCELERATOR_BATCH
        assert batch & (batch - 1) == 0  # a power of two
        assert batch >= previous  # more memory never gives a smaller batch
        previous = batch
        if batch > 1:
            assert batch * page <= MEMORY_FRACTION * free
        if batch < MAX_ACCELERATOR_BATCH:
            assert 2 * batch * page > MEMORY_FRACTION * free
    assert accelerator_batch_size(1000 * GIB, page) == MAX_ACCELERATOR_BATCH


def test_accelerator_default_uses_the_family_estimate() -> None:
    free = 8 * GIB
    small, large = BATCHING["colmodernvbert"], BATCHING["colqwen3"]
    assert small.page_bytes() != large.page_bytes()
    for family, entry in (("colmodernvbert", small), ("colqwen3", large)):
        got = default_batch_size("cuda", family, free_bytes=free)
        assert got == accelerator_batch_size(free, entry.page_bytes())
    assert default_batch_size("mps", "colqwen3", free_bytes=free) == default_batch_size(
        "cuda:1", "colqwen3", free_bytes=free
    )


def test_bad_batch_size_is_refused(tiny_models: Callable[[str], Path]) -> None:
    from pagelens.embed import load_embedder

    folder = str(tiny_models("colqwen2"))
    for bad in (0, -2, 1.5, True):
        with pytest.raises(UsageError, match="batch size"):
            load_embedder(folder, device="cpu", batch_size=bad)  # type: ignore[arg-type]


def test_loaded_model_gets_the_family_default_and_batch_size_overrides(
    tiny_models: Callable[[str], Path],
) -> None:
    import torch

    from pagelens.embed import load_embedder

    folder = str(tiny_models("colqwen2"))
    default = load_embedder(folder, device="cpu")
    assert default.backend == "colqwen2"  # type: ignore[attr-defined]
    assert default.batch_size == BATCHING["colqwen2"].cpu  # type: ignore[attr-defined]
    assert default.dtype == torch.float32  # type: ignore[attr-defined]
    assert next(default.model.parameters()).dtype == torch.float32  # type: ignore[attr-defined]

    chosen = BATCHING["colqwen2"].cpu + 2
    overridden = load_embedder(folder, device="cpu", batch_size=chosen)
    assert overridden.batch_size == chosen  # type: ignore[attr-defined]
    # batches really are that size: the same pages give the same vectors either way
    from PIL import Image

    pages = [Image.new("RGB", (64, 90), (i * 40, 200 - i * 30, 90)) for i in range(chosen + 1)]
    a, b = default.embed_images(pages), overridden.embed_images(pages)
    assert len(a) == len(b) == len(pages)
    for x, y in zip(a, b, strict=True):
        assert x.shape == y.shape
        assert abs(x - y).max() < 1e-4


def test_cli_batch_size_reaches_the_indexer(tiny_models: Callable[[str], Path], tmp_path: Path) -> None:
    import pagelens

    folder = str(tiny_models("colqwen2"))
    with pagelens.open(tmp_path / "index", model=folder, device="cpu", batch_size=3) as index:
        assert index.embedder.batch_size == 3  # type: ignore[attr-defined]


@pytest.mark.skipif("not __import__('torch').cuda.is_available()", reason="needs a CUDA GPU")
def test_gpu_gets_bfloat16_and_a_memory_based_batch(tiny_models: Callable[[str], Path]) -> None:
    import torch

    from pagelens.embed import load_embedder
    from pagelens.embed.batching import free_accelerator_memory

    embedder = load_embedder(str(tiny_models("colqwen2")), device="cuda")
    expected_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    assert embedder.dtype == expected_dtype  # type: ignore[attr-defined]
    assert next(embedder.model.parameters()).dtype == expected_dtype  # type: ignore[attr-defined]
    free = free_accelerator_memory("cuda")
    assert free is not None and free > 0
    assert 1 <= embedder.batch_size <= MAX_ACCELERATOR_BATCH  # type: ignore[attr-defined]
