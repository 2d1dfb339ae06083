"""A tiny run of bench/server_bench.py against the session's real Milvus server: every row of its tables is
there and its figures are sane (no timing is asserted). Run by `bash scripts/milvus_server.sh test`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from milvus_server import TOKEN, MilvusServer

pytestmark = [pytest.mark.milvus_server, pytest.mark.e2e]

BENCH = Path(__file__).resolve().parents[1] / "bench" / "server_bench.py"
PAGES = 60


def _row(text: str, start: str) -> list[str]:
    rows = [line for line in text.splitlines() if line.startswith(start)]
    assert len(rows) == 1, f"expected one row starting {start!r} in:\n{text}"
    return [cell.strip() for cell in rows[0].strip("|").split("|")]


def test_server_bench_prints_every_row(milvus_server: MilvusServer, tmp_path: Path) -> None:
    command = [
        sys.executable,
        str(BENCH),
        *("--sizes", str(PAGES), "--shard-sizes", str(PAGES), "--vectors", "64", "--queries", "5"),
        *("--uri", milvus_server.uri, "--token", TOKEN, "--server-data", str(milvus_server.data_dir)),
        *("--workdir", str(tmp_path / "work"), "--no-write"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    text = done.stdout
    assert "2-core x86_64 VM, 24 GiB, no GPU, shared with other jobs" in text
    for backend in ("Milvus 2.3.5 server", "Milvus Lite folder"):
        cells = _row(text, f"| {backend} | {PAGES} |")
        assert float(cells[2].split()[0]) > 0  # insert pages/s
        assert float(cells[4].replace(",", "")) > 0  # p50 ms
        recall = float(cells[6].split()[0])
        assert 0.0 <= recall <= 1.0
        assert cells[7].endswith("GiB")  # client RSS
        latency = _row(text, f"| {backend} | {cells[4]} |")  # the latency-growth row repeats the p50
        assert len(latency) == 3
    server = _row(text, f"| Milvus 2.3.5 server | {PAGES} |")
    assert "(0 files in $PAGELENS_CACHE)" in server[8]  # the server path keeps nothing locally
    assert server[9].split()[1] == "GiB"  # the server process' RSS, read from /proc
    assert "(index folder)" in _row(text, f"| Milvus Lite folder | {PAGES} |")[8]
    single = _row(text, f"| {PAGES} | single run |")
    assert single[5] == str(PAGES)
    # 4 processes at once on a new index; where that fails (a race in creating the collections, reported as
    # FAILED in its row), again on an index one process created first: one of them must equal the single run
    sharded = [line for line in text.splitlines() if line.startswith(f"| {PAGES} | sharded, ")]
    assert sharded, text
    last = [cell.strip() for cell in sharded[-1].strip("|").split("|")]
    assert last[2] == "4" and last[5] == str(PAGES), last
    assert last[7].startswith("yes"), last
