"""Hierarchical token pooling of page vectors (issue 14 point 4): `pool_vectors` itself, and
`--pool-factor` / `add(pool_factor=...)` stored in the index, applied to pages only and to later adds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import pagelens
from pagelens.cli import main
from pagelens.embed.pooling import pool_vectors
from pagelens.errors import UsageError
from tiny_models import tiny_models_fixture  # noqa: F401


def test_pool_vectors_merges_near_duplicates_into_unit_means() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 16))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    vectors = np.repeat(centres, 4, axis=0) + rng.normal(scale=1e-3, size=(20, 16))
    pooled = pool_vectors(vectors, 4)
    assert pooled.shape == (5, 16) and pooled.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(pooled, axis=1), 1.0, atol=1e-5)
    # each centre is recovered (up to the noise)
    assert np.all((pooled @ centres.T).max(axis=0) > 0.999)
    assert len(pool_vectors(vectors, 1)) == 20
    assert len(pool_vectors(vectors, 3)) <= 20 // 3
    assert len(pool_vectors(vectors[:1], 3)) == 1


def _pages(folder: Path, count: int, seed: int) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for number in range(count):
        Image.fromarray(rng.integers(0, 255, (64, 48, 3), dtype=np.uint8)).save(folder / f"p{number}.png")
    return folder


def test_pool_factor_is_stored_and_used_for_later_pages_only(
    tiny_models: Callable[[str], Path], tmp_path: Path
) -> None:
    model = str(tiny_models("colqwen2"))
    first, later = _pages(tmp_path / "first", 2, 1), _pages(tmp_path / "later", 2, 2)
    plain = pagelens.open(tmp_path / "plain", model=model, device="cpu")
    try:
        plain.add([str(first), str(later)], progress=False)
        full = plain.status().vectors
        query = plain.embed_query("quarterly revenue")
    finally:
        plain.close()
    index = pagelens.open(tmp_path / "pooled", model=model, device="cpu")
    try:
        index.add([str(first)], pool_factor=2, progress=False)
        assert index.info.pool_factor == 2
    finally:
        index.close()
    index = pagelens.open(tmp_path / "pooled", model=model, device="cpu")
    try:
        assert index.info.pool_factor == 2  # read back from the index
        index.add([str(later)], progress=False)  # no factor given: the index's own
        pooled = index.status().vectors
        assert pooled <= full // 2 + 4 and pooled < full
        np.testing.assert_array_equal(index.embed_query("quarterly revenue"), query)  # queries unpooled
        assert len(index.search("quarterly revenue", k=4)) == 4
        with pytest.raises(UsageError, match="pooled by factor 2"):
            index.add([str(first)], pool_factor=3, progress=False)
    finally:
        index.close()


def test_cli_pool_factor(tiny_models: Callable[[str], Path], tmp_path: Path) -> None:
    pages = _pages(tmp_path / "pages", 2, 3)
    index_dir = tmp_path / "index"
    args = ["index", str(pages), "--index", str(index_dir), "--model", str(tiny_models("colqwen2"))]
    assert main([*args, "--device", "cpu", "--pool-factor", "3", "--quiet"]) == 0
    with pagelens.open(index_dir) as index:
        assert index.info.pool_factor == 3
    with pytest.raises(SystemExit):
        main([*args, "--pool-factor", "0"])
