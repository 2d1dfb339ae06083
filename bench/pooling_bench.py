"""Hierarchical token pooling (`--pool-factor`): vectors and bytes per page, and recall@10 of exact MaxSim
over pooled pages against exact MaxSim over the unpooled pages, at pool factors 1/2/3, on two kinds of data:

- synthetic: bench/synthetic.py's ColPali-like pages (1,030 x 128) and its queries;
- tiny-model: the pages of `pagelens.samples` (generated PDFs and images) embedded by the tiny random
  ColQwen2 (pagelens.testing.tiny_models), with text queries through the same model. Its weights are random,
  so this measures how pooling changes rankings of real processor output, not retrieval quality.

Bytes per page are the stored vector payload (16-bit values: n x dim x 2), not Milvus' files.

    .venv/bin/python bench/pooling_bench.py --synthetic-pages 200 --queries 30
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pagelens.embed.pooling import pool_vectors  # noqa: E402
from synthetic import SyntheticCorpus  # noqa: E402

FACTORS = (1, 2, 3)
QUERIES = [
    "quarterly revenue by region",
    "invoice total amount due",
    "organisation chart",
    "table of contents",
    "scanned letter signature",
    "bar chart of sales",
    "summary of results",
    "payment terms and conditions",
    "annual report 2024",
    "line chart growth over time",
    "contact address and phone",
    "methodology section",
]


def maxsim(query: np.ndarray, pages: list[np.ndarray]) -> np.ndarray:
    return np.array([float((query @ p.T).max(axis=1).sum()) for p in pages])


def rows_for(name: str, pages: list[np.ndarray], queries: list[np.ndarray], k: int = 10) -> list[str]:
    exact = [np.argsort(-maxsim(q, pages))[:k] for q in queries]
    rows = []
    for factor in FACTORS:
        started = time.perf_counter()
        pooled = [pool_vectors(p, factor) for p in pages]
        seconds = time.perf_counter() - started
        recall = np.mean(
            [
                len(set(np.argsort(-maxsim(q, pooled))[:k]) & set(e)) / k
                for q, e in zip(queries, exact, strict=True)
            ]
        )
        vectors = np.mean([len(p) for p in pooled])
        kib = vectors * pages[0].shape[1] * 2 / 1024
        rows.append(
            f"| {name} | {len(pages)} | {factor} | {vectors:,.0f} | {kib:,.1f} | {recall:.3f} | "
            f"{1000 * seconds / len(pages):,.1f} |"
        )
    return rows


def synthetic(pages: int, queries: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    corpus = SyntheticCorpus(pages=pages, seed=0)
    data = corpus.fill()
    query_vectors, _ = corpus.queries(queries)
    return list(data), list(query_vectors)


def tiny_model() -> tuple[list[np.ndarray], list[np.ndarray]]:
    import pagelens
    from pagelens.samples import write_samples
    from pagelens.testing.tiny_models import build_tiny_model

    root = Path(tempfile.mkdtemp(prefix="pooling-bench-"))
    model = build_tiny_model("colqwen2", root / "model")
    write_samples(root / "samples")
    with pagelens.open(root / "index", model=str(model), device="cpu") as index:
        index.add([str(root / "samples")], progress=False)
        ids = sorted(index.catalog.by_id)
        pages = [index.page_vectors(page_id) for page_id in ids]
        queries = index.embedder.embed_queries(QUERIES)
    return pages, queries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic-pages", type=int, default=200)
    parser.add_argument("--queries", type=int, default=30)
    args = parser.parse_args(argv)
    print(f"machine: {platform.machine()}, {platform.python_version()}; factors {FACTORS}")
    print(
        "| data | pages | pool factor | vectors/page | KiB/page (16-bit) | recall@10 vs unpooled exact | pooling ms/page |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    pages, queries = synthetic(args.synthetic_pages, args.queries)
    for row in rows_for("synthetic (1,030 x 128)", pages, queries):
        print(row, flush=True)
    pages, queries = tiny_model()
    for row in rows_for("tiny ColQwen2, sample pages", pages, queries):
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
