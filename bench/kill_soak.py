"""Kill soak: SIGKILL the indexer at random moments, many times, over a multi-document run; then finish it
and compare with a clean run. Prints a table; exit 1 if any page was lost or duplicated.

    .venv/bin/python bench/kill_soak.py --kills 50 --docs 30
"""

from __future__ import annotations

import argparse
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
        killed = finished_early = 0
        for number in range(args.kills):
            delay = float(rng.uniform(0.8, max(1.0, clean_seconds)))
            result = run_indexer(work / "crashed", [folder], kill_after=delay)
            if result is None:
                killed += 1
            else:
                finished_early += 1
            print(f"run {number + 1}/{args.kills}: {'killed' if result is None else 'finished'} after {delay:.1f}s", file=sys.stderr)
        final = run_indexer(work / "crashed", [folder])
        assert final is not None
        problems = differences(snapshot(work / "crashed"), expected)
        pages = len(expected["page_ids"])
        got = snapshot(work / "crashed")
        lost = len(set(expected["page_ids"]) - set(got["page_ids"]))
        duplicated = got["page_rows"] - len(set(got["page_ids"]))
        print(f"machine: {platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores")
        print("| documents | pages | clean run (s) | kills | runs that finished first | pages lost | pages duplicated | equal to clean run |")
        print("|---|---|---|---|---|---|---|---|")
        print(f"| {args.docs} | {pages} | {clean_seconds:.1f} | {killed} | {finished_early} | {lost} | {duplicated} | {'yes' if not problems else ', '.join(problems)} |")
        return 0 if not problems and lost == 0 and duplicated == 0 else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
