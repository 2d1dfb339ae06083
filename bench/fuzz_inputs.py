"""The long fuzz run: several hundred mutated PDFs plus extreme images through the real `pagelens index`
with a tiny random ColQwen2 (its real Qwen2-VL processor), then a table of what happened.

    .venv/bin/python bench/fuzz_inputs.py [--mutations 300] [--seed 0] [--workdir DIR]

Prints files tried / indexed / failed / adjusted, the exit code, whether any traceback was printed, and each
failure reason with its count. The short version runs in the default tests (tests/test_fuzz_inputs.py).
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pagelens
from pagelens.testing.fuzz import write_fuzz_set
from pagelens.testing.tiny_models import build_tiny_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutations", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="pagelens-fuzz-"))
    files = write_fuzz_set(work / "inputs", args.mutations, args.seed)
    model = build_tiny_model("colqwen2", work / "model")
    started = time.perf_counter()
    run = subprocess.run(
        [str(Path(sys.executable).with_name("pagelens")), "index", str(work / "inputs"),
         "--index", str(work / "index"), "--model", str(model), "--quiet"],
        capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    seconds = time.perf_counter() - started
    with pagelens.open(work / "index") as index:
        records = {d.path: d for d in index.documents()}
    missing = [f.path.name for f in files if str(f.path.resolve()) not in records]
    indexed = [r for r in records.values() if r.status == "indexed"]
    failed = [r for r in records.values() if r.status == "failed"]
    good_incomplete = [
        f.path.name
        for f in files
        if f.good_pages is not None
        and (
            records.get(str(f.path.resolve())) is None or records[str(f.path.resolve())].pages != f.good_pages
        )
    ]
    reasons = collections.Counter(re.sub(r"\d+", "N", r.reason)[:110] for r in failed)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"command: bench/fuzz_inputs.py --mutations {args.mutations} --seed {args.seed}\n")
    print(
        "| files tried | indexed | failed | adjusted | unaccounted | good files incomplete | exit | traceback | s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    print(
        f"| {len(files)} | {len(indexed)} | {len(failed)} | {sum(1 for r in indexed if r.reason)} | "
        f"{len(missing)} | {len(good_incomplete)} | {run.returncode} | "
        f"{'YES' if 'Traceback' in run.stderr + run.stdout else 'no'} | {seconds:.0f} |"
    )
    print("\n| failures | reason (digits as N) |\n|---:|---|")
    for reason, count in reasons.most_common():
        print(f"| {count} | {reason} |")


if __name__ == "__main__":
    main()
