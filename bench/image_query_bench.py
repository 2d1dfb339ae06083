"""Image queries next to text queries on the same index: latency and recall@10 against exact MaxSim.

    .venv/bin/python bench/image_query_bench.py --pages 1000

An image query is a whole page's multi-vector (~1,030 vectors): here a corpus page's vectors plus noise (a
screenshot of that page, say), against text queries of 20 vectors (bench/synthetic.py). Both go through
`search_embedding` in the same process on the same Milvus Lite index; `similar` is timed too. Query
embedding is excluded.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import pagelens  # noqa: E402
from pagelens.store import bfloat16  # noqa: E402
from synthetic import SyntheticCorpus  # noqa: E402


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=20, help="text queries")
    parser.add_argument(
        "--image-queries", type=int, default=5, help="image queries (exact reference is costly)"
    )
    args = parser.parse_args()

    corpus = SyntheticCorpus(args.pages)
    vectors = corpus.fill()
    stored = bfloat16.as_stored(vectors)  # what pagelens keeps (bfloat16)
    text_queries, _ = corpus.queries(args.queries)
    rng = np.random.default_rng(3)
    targets = rng.choice(args.pages, args.image_queries, replace=False)
    image_queries = [(v + 0.05 * rng.standard_normal(v.shape).astype(np.float32)) for v in vectors[targets]]
    image_queries = [q / np.linalg.norm(q, axis=1, keepdims=True) for q in image_queries]
    keys = [(p.path, p.page) for p in corpus.layout]

    flat = stored.reshape(-1, stored.shape[2])
    per_page = stored.shape[1]

    def exact_top(query: np.ndarray, k: int = 10) -> list[tuple[str, int]]:
        """Brute-force MaxSim over every page (one big matmul per block of pages)."""
        scores = np.empty(len(stored), dtype=np.float32)
        block = 100
        for lo in range(0, len(stored), block):
            sims = flat[lo * per_page : (lo + block) * per_page] @ query.T  # (pages*n, q)
            scores[lo : lo + block] = sims.reshape(-1, per_page, len(query)).max(axis=1).sum(axis=1)
        return [keys[i] for i in np.argsort(-scores, kind="stable")[:k]]

    rows = []
    with tempfile.TemporaryDirectory() as folder, pagelens.open(Path(folder) / "idx") as index:
        for batch in corpus.records():
            index.add_embeddings(batch)
        index.search_embedding(text_queries[0], k=10)  # warm: catalog and cache
        for name, queries in (
            ("text query (20 vectors)", list(text_queries)),
            ("image query (1,030 vectors)", image_queries),
        ):
            times, recalls = [], []
            for query in queries:
                started = time.perf_counter()
                hits = index.search_embedding(query, k=10)
                times.append((time.perf_counter() - started) * 1000)
                expected = set(exact_top(query))
                recalls.append(len(expected & {(h.path, h.page) for h in hits}) / 10)
            rows.append((name, _p(times, 50), _p(times, 95), float(np.mean(recalls))))
        times = []
        for target in targets:
            page_id = index.find_page(*keys[int(target)])
            started = time.perf_counter()
            index.similar(page_id, k=10)
            times.append((time.perf_counter() - started) * 1000)
        rows.append(("similar(page) (stored vectors)", _p(times, 50), _p(times, 95), float("nan")))

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; {args.pages} synthetic "
        f"ColPali-like pages (bench/synthetic.py), Milvus Lite; {args.queries} queries each"
    )
    print()
    print("| query | p50 (ms) | p95 (ms) | recall@10 vs exact |")
    print("|---|---:|---:|---:|")
    for name, p50, p95, recall in rows:
        print(f"| {name} | {p50:.1f} | {p95:.1f} | {'—' if np.isnan(recall) else f'{recall:.3f}'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
