"""A tiny run of the search benchmark (bench/search_bench.py): every row present, metrics sane (~30 s)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import search_bench  # noqa: E402
from synthetic import VECTORS_PER_PAGE, SyntheticCorpus  # noqa: E402


def test_synthetic_pages_are_deterministic_normalised_and_prefix_stable() -> None:
    small = SyntheticCorpus(70, seed=3).fill()
    again = SyntheticCorpus(70, seed=3).fill()
    larger = SyntheticCorpus(130, seed=3).fill()
    assert small.shape == (70, VECTORS_PER_PAGE, 128) and small.dtype == np.float32
    assert np.array_equal(small, again)
    assert np.array_equal(small, larger[:70])
    assert np.allclose(np.linalg.norm(small, axis=2), 1.0, atol=1e-5)
    corpus = SyntheticCorpus(70, seed=3)
    vectors, content = corpus.page(5)
    assert 0.35 <= 1 - content[: 32 * 32].mean() <= 0.65  # background share
    queries, targets = corpus.queries(4)
    assert queries.shape == (4, 20, 128) and targets.shape == (4,)
    batches = list(corpus.records(batch_pages=16))
    assert sum(len(b) for b in batches) == 70
    paths = [{r["path"] for r in b} for b in batches]
    assert all(not (a & b) for a, b in zip(paths, paths[1:], strict=False))  # documents never split


def test_metrics() -> None:
    reference = list(range(10))
    assert search_bench.recall_at_k(reference, reference) == 1.0
    assert search_bench.ndcg_at_k(reference, reference) == pytest.approx(1.0)
    swapped = [1, 0] + reference[2:]
    assert search_bench.recall_at_k(swapped, reference) == 1.0
    assert search_bench.ndcg_at_k(swapped, reference) < 1.0
    assert search_bench.recall_at_k(list(range(5, 15)), reference) == 0.5


@pytest.fixture
def one_blas_thread():  # type: ignore[no-untyped-def]
    """The benchmark's default (faster here); restored afterwards so other tests see the library default."""
    before = search_bench.blas_threads()
    search_bench.set_blas_threads(1)
    yield
    if before:
        search_bench.set_blas_threads(before)


@pytest.mark.usefixtures("one_blas_thread")
def test_tiny_run_has_every_row(tmp_path: Path) -> None:
    result = search_bench.run_size(60, queries=5, candidates=(10, 30), exact_queries=5, workdir=tmp_path)
    tutorial = search_bench.run_size(
        20, queries=3, candidates=(), tutorial=True, tutorial_queries=1, exact_queries=3, workdir=tmp_path
    )
    methods = [r.method for r in result.rows]
    assert methods == [
        "exact brute force",
        "pagelens",
        "pagelens exact=True",
        "pagelens candidates=10",
        "pagelens candidates=30",
    ]
    assert [r.method for r in tutorial.rows][-1] == "milvus tutorial"
    table = search_bench.format_table(result.rows + tutorial.rows)
    for method in methods + ["milvus tutorial"]:
        assert f"| {method} |" in table
    for row in result.rows + tutorial.rows:
        assert row.latencies, row.method
        assert 0.0 <= row.recall <= 1.0 and 0.0 <= row.ndcg <= 1.0, row.method
    for size in (result, tutorial):
        assert size.row("exact brute force").recall == 1.0
        assert size.row("pagelens exact=True").recall == 1.0
        assert size.max_score_diff <= search_bench.SCORE_TOLERANCE
    assert result.row("pagelens").store_pages_s and result.row("pagelens").disk_kb
    assert tutorial.row("milvus tutorial").build_s
