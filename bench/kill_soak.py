"""Kill soak: SIGKILL the indexer at random moments, many times, over a multi-document run; then finish it
and compare with a clean run. Prints a table; exit 1 if any page was lost or duplicated.

    .venv/bin/python bench/kill_soak.py --kills 50 --docs 30
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from crash_check import differences, run_indexer, snapshot  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus" / "docs"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--docs", type=int, default=30, help="PDFs from the shared corpus (smallest first)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    pdfs = sorted((p for p in CORPUS.rglob("*.pdf") if p.stat().st_size > 0), key=lambda p: p.stat().st_size)
    work = Path(tempfile.mkdtemp(prefix="pagelens-soak-"))
    try:
        folder = work / "in"
        folder.mkdir()
        for pdf in pdfs[: args.docs]:
            shutil.copy(pdf, folder / f"{pdf.parent.name}-{pdf.name}")
        started = time.perf_counter()
        clean = run_indexer(work / "clean", [folder])
        clean_seconds = time.perf_counter() - started
        assert clean is not None
        expected = snapshot(work / "clean")

        rng = np.random.default_rng(args.seed)
        kills = cycles = lost = duplicated = 0
        failures: list[str] = []
        while kills < args.kills:
            # one cycle: a fresh index, killed at random moments until a run gets to finish
            target = work / f"crashed-{cycles}"
            cycles += 1
            while True:
                delay = float(rng.uniform(0.8, max(1.0, clean_seconds)))
                if run_indexer(target, [folder], kill_after=delay) is not None:
                    break
                kills += 1
                print(f"kill {kills}/{args.kills} after {delay:.1f}s (cycle {cycles})", file=sys.stderr)
            got = snapshot(target)
            lost += len(set(expected["page_ids"]) - set(got["page_ids"]))
            duplicated += got["page_rows"] - len(set(got["page_ids"]))
            failures += [f"cycle {cycles}: {p}" for p in differences(got, expected)]
            shutil.rmtree(target, ignore_errors=True)
        pages = len(expected["page_ids"])
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, Milvus Lite, FakeEmbedder (deterministic)"
        )
        print(
            "| documents | pages | clean run (s) | kills | cycles (each resumed to the end) | pages lost | pages duplicated | equal to clean run |"
        )
        print("|---|---|---|---|---|---|---|---|")
        verdict = "yes" if not failures else "; ".join(failures)
        print(
            f"| {args.docs} | {pages} | {clean_seconds:.1f} | {kills} | {cycles} | {lost} | {duplicated} | {verdict} |"
        )
        return 0 if not failures and lost == 0 and duplicated == 0 else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
