"""Cache kill soak: SIGKILL a process while it rebuilds the search cache of a Milvus Lite index (training the
token codebook, encoding every page's codes), many times; after each kill a fresh process must open the
index and return, for every query, exactly what `exact=True` returns over the same stored vectors (the
ranking and scores of the approximate path may differ only where it missed a page, so recall is reported).
Prints a table; exit 1 on any error or wrong score.

    .venv/bin/python bench/cache_kill_soak.py --kills 20 --pages 1200
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from clustered import clustered_pages  # noqa: E402

CHILD = """
import sys, numpy as np, pagelens
folder, queries = sys.argv[1], np.load(sys.argv[2])
with pagelens.open(folder) as index:
    for name in queries.files:
        index.search_embedding(queries[name], k=10)
"""


def _build(folder: Path, pages: int) -> list[np.ndarray]:
    import pagelens

    vectors, queries = clustered_pages(pages, seed=5)
    records = [{"path": f"doc{i // 4}.pdf", "page": i % 4 + 1, "embedding": v} for i, v in enumerate(vectors)]
    with pagelens.open(folder) as index:
        index.add_embeddings(records)
    return queries


def _check(folder: Path, queries: list[np.ndarray]) -> tuple[float, list[str]]:
    """Mean recall@10 of the default search against exact, and every score that is not exact MaxSim."""
    import pagelens

    problems, recalls = [], []
    with pagelens.open(folder) as index:
        for number, query in enumerate(queries):
            exact = {h.page_id: h.score for h in index.search_embedding(query, k=10, exact=True)}
            hits = index.search_embedding(query, k=10)
            recalls.append(len(exact.keys() & {h.page_id for h in hits}) / 10)
            for hit in hits:
                if hit.page_id in exact and abs(hit.score - exact[hit.page_id]) > 1e-5:
                    problems.append(
                        f"query {number}: page {hit.page_id} scored {hit.score}, exact {exact[hit.page_id]}"
                    )
        if index.retriever.cache.codebook is None:
            problems.append("no codebook after a completed open")
    return float(np.mean(recalls)), problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--pages", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pagelens-cache-soak-"))
    try:
        folder = work / "index"
        queries = _build(folder, args.pages)
        np.savez(work / "queries.npz", *queries)
        shutil.rmtree(folder / "cache")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", CHILD, str(folder), str(work / "queries.npz")], check=True)
        rebuild_seconds = time.perf_counter() - started
        rng = np.random.default_rng(args.seed)
        recalls, problems = [], []
        for kill in range(args.kills):
            shutil.rmtree(
                folder / "cache"
            ) if kill % 2 == 0 else None  # from nothing, or from a killed rebuild
            child = subprocess.Popen(
                [sys.executable, "-c", CHILD, str(folder), str(work / "queries.npz")], start_new_session=True
            )
            delay = float(rng.uniform(0.2, rebuild_seconds))
            try:
                child.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
            recall, found = _check(folder, queries)
            recalls.append(recall)
            problems += [f"kill {kill + 1} after {delay:.1f}s: {p}" for p in found]
            print(f"kill {kill + 1}/{args.kills} after {delay:.1f}s: recall {recall:.3f}", file=sys.stderr)
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Milvus Lite, tests/clustered.py pages")
        print(
            "| pages | cache rebuild (s) | kills | opens that failed or scored wrong | recall@10 vs exact, mean (worst) |"
        )
        print("|---|---|---|---|---|")
        print(
            f"| {args.pages:,} | {rebuild_seconds:.1f} | {args.kills} | {len(problems)} | "
            f"{np.mean(recalls):.3f} ({min(recalls):.2f}) |"
        )
        for problem in problems:
            print(f"- {problem}")
        return 1 if problems else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
