"""bench/pipeline_bench.py and bench/full_size.py: every full-size config builds with the real classes (on the
meta device: no memory), the parameter counts are those of the published checkpoints' sizes, `--dtype`
builds the weights directly in that dtype, and the memory guard refuses a model that would not fit."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import full_size  # noqa: E402
import pipeline_bench  # noqa: E402

torch = pytest.importorskip("torch")

#: Parameter counts (billions) the checkpoints' names or cards state, with a margin for what pagelens' model
#: classes add or drop (projection head, no LM head, the tiny tokenizer's specials).
EXPECTED_BILLIONS = {
    "colqwen2": (2.1, 2.4),  # Qwen2-VL-2B
    "colqwen2_5": (3.6, 3.9),  # Qwen2.5-VL-3B (3.75B)
    "colqwen3": (4.3, 4.6),  # Qwen3-VL-4B (4.44B)
    "colqwen3_5": (4.4, 4.7),  # colqwen3.5-4.5B
    "colpali": (2.8, 3.0),  # PaliGemma-3B (2.92B)
    "colgemma3": (4.2, 4.4),  # Gemma 3 4B (4.3B)
    "colidefics3": (0.2, 0.3),  # colSmol-256M
    "colmodernvbert": (0.2, 0.3),  # ModernVBERT 250M
}


@pytest.fixture(scope="module", autouse=True)
def _torchvision() -> None:
    from pagelens.embed.torchvision_compat import ensure_torchvision_importable

    ensure_torchvision_importable()


@pytest.mark.parametrize("family", sorted(EXPECTED_BILLIONS))
def test_full_size_config_has_the_checkpoints_size(family: str) -> None:
    parts = full_size.BUILDERS[family]()
    low, high = EXPECTED_BILLIONS[family]
    assert low <= full_size.parameter_count(parts) / 1e9 <= high
    assert family in full_size.SOURCES and family in full_size.CHECKED


def test_every_builder_says_where_its_sizes_come_from() -> None:
    for family in full_size.BUILDERS:
        checked = full_size.CHECKED[family]
        assert checked.startswith(("verified", "partly", "not verified")), family
        assert "http" in checked or "transformers/" in checked, family


def test_build_creates_the_weights_in_the_asked_dtype() -> None:
    parts = full_size.BUILDERS["colmodernvbert"]()
    for name in (
        "num_hidden_layers",
    ):  # one layer each side keeps the build small; the dtype path is the same
        setattr(parts.config.text_config, name, 1)
        setattr(parts.config.vision_config, name, 1)
    model = full_size.build(parts, dtype=torch.bfloat16)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    assert torch.get_default_dtype() == torch.float32  # restored after the build
    assert not model.training


def test_check_fits_counts_bytes_per_dtype_and_the_rss_limit() -> None:
    pipeline_bench.check_fits(500_000_000, torch.bfloat16, max_rss_gib=10)  # 0.9 GiB of weights
    with pytest.raises(MemoryError, match="float32"):
        pipeline_bench.check_fits(4_000_000_000, torch.float32, max_rss_gib=10)  # 14.9 GiB: never fits 10
    with pytest.raises(MemoryError, match="bfloat16"):
        pipeline_bench.check_fits(5_000_000_000, torch.bfloat16, max_rss_gib=10)  # 9.3 GiB: no room left
    assert pipeline_bench.resolve_dtype("bfloat16", "cpu") is torch.bfloat16
    assert pipeline_bench.resolve_dtype("auto", "cpu") is torch.float32
    with pytest.raises(SystemExit):
        pipeline_bench.resolve_dtype("int8", "cpu")
