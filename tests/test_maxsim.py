"""Exact MaxSim equals colpali-engine's score_multi_vector; pooling is deterministic and unit-norm."""

from __future__ import annotations

import numpy as np
import pytest

from pagelens.search.maxsim import maxsim, maxsim_read, maxsim_segments, score_pages
from pagelens.search.pooling import page_centroids
from pagelens.store import bfloat16


def _unit(rng: np.random.Generator, n: int, dim: int = 128) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def processor_scores():  # type: ignore[no-untyped-def]
    from pagelens.embed.torchvision_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    from colpali_engine.utils.processing_utils import BaseVisualRetrieverProcessor

    return BaseVisualRetrieverProcessor.score_multi_vector


def test_scores_equal_colpali_engine_score_multi_vector(processor_scores) -> None:  # type: ignore[no-untyped-def]
    import torch

    rng = np.random.default_rng(0)
    queries = [_unit(rng, n) for n in (5, 20, 31)]
    pages = [_unit(rng, n) for n in (1030, 700, 3, 1500)]  # incl. a page with more than 1,000 vectors
    # One page per call: colpali-engine zero-pads a batch of pages to one length, and a padding row scores 0,
    # which lifts a query token whose true best match is negative on a short page. pagelens never pads.
    expected = np.concatenate(
        [
            processor_scores(
                [torch.from_numpy(q) for q in queries], [torch.from_numpy(p)], device="cpu"
            ).numpy()
            for p in pages
        ],
        axis=1,
    )
    for qi, query in enumerate(queries):
        np.testing.assert_allclose(score_pages(query, pages), expected[qi], rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose([maxsim(query, p) for p in pages], expected[qi], rtol=1e-5, atol=1e-4)


def test_blocks_do_not_change_scores(monkeypatch: pytest.MonkeyPatch) -> None:
    import pagelens.search.maxsim as module

    rng = np.random.default_rng(1)
    pages = [_unit(rng, n) for n in (40, 7, 90, 13, 64)]
    query = _unit(rng, 9)
    whole = score_pages(query, pages)
    monkeypatch.setattr(module, "BLOCK_ROWS", 50)  # forces one page per block, and a page larger than a block
    np.testing.assert_allclose(score_pages(query, pages), whole, rtol=1e-6)


def test_float16_pages_score_in_float32() -> None:
    rng = np.random.default_rng(2)
    page = _unit(rng, 100)
    query = _unit(rng, 10)
    half = page.astype(np.float16)
    offsets = np.array([0, 100])
    expected = (half.astype(np.float32) @ query.T).max(axis=0).sum()
    assert maxsim_segments(query, half, offsets)[0] == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("block_rows", [50, 2048])
def test_pages_read_block_by_block_score_as_the_widened_whole(
    monkeypatch: pytest.MonkeyPatch, block_rows: int
) -> None:
    from pagelens.search import maxsim as module

    monkeypatch.setattr(module, "BLOCK_ROWS", block_rows)
    rng = np.random.default_rng(4)
    pages = [bfloat16.encode(_unit(rng, n)) for n in (7, 120, 33, 300, 64)]
    offsets = np.zeros(len(pages) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in pages], out=offsets[1:])
    query = _unit(rng, 9)
    weights = rng.uniform(0.5, 2.0, 9).astype(np.float32)
    reads: list[tuple[int, int]] = []

    def read(first: int, last: int, out: np.ndarray) -> None:
        reads.append((first, last))
        out[...] = np.concatenate(pages[first:last])

    widened = [bfloat16.decode(p) for p in pages]
    for w in (None, weights):
        got = maxsim_read(query, offsets, 128, read, w)
        np.testing.assert_allclose(got, score_pages(query, widened, w), rtol=1e-6)
    assert {page for first, last in reads for page in range(first, last)} == set(range(len(pages)))
    # a block holds whole pages, and is at least the longest page: 50 -> blocks of 300 rows, 3 a pass
    assert len(reads) == (6 if block_rows == 50 else 2)


def test_centroids_are_deterministic_unit_vectors() -> None:
    rng = np.random.default_rng(3)
    page = _unit(rng, 1030)
    first, second = page_centroids(page), page_centroids(page)
    assert first.shape == (32, 128)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-5)
    small = _unit(rng, 5)
    np.testing.assert_array_equal(page_centroids(small), small)
