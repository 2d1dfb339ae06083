"""HTTP load: N concurrent clients (1, 8, 32 by default) send a fixed number of text searches to a real
`pagelens` server process on 127.0.0.1; prints p50/p99 latency, throughput and errors per level.

    .venv/bin/python bench/http_load.py                      # starts its own server, prints the table
    .venv/bin/python bench/http_load.py --requests 400 --synthetic-pages 500
    .venv/bin/python bench/http_load.py --url http://127.0.0.1:8000 --token T    # an already running server

The server it starts indexes the byaldi PDFs from ../shared/corpus (21 real pages) plus `--synthetic-pages`
ColPali-like synthetic pages (bench/synthetic.py: 1,030 vectors each), and embeds queries with the test
suite's FakeEmbedder (tests/fakes.py), so the figures measure the HTTP layer, the index lock and retrieval
(candidate scoring + exact MaxSim), not a model's query encoder: add your model's query latency on top, or
point --url at a `pagelens serve --model ...` server. Searches are serialised by the server's index lock, so
throughput is bounded by one search at a time; more clients mostly add queueing latency.

Bounded: each level stops after `--requests` requests or `--max-seconds`, whichever comes first. Only
loopback addresses are accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "docs" / "byaldi" / "examples" / "docs"
QUERIES = [
    "attention is all you need",
    "monthly revenue chart for product A",
    "BLEU scores of the transformer on English to German",
    "multi head attention diagram",
    "table comparing layer complexity",
    "quarterly financial summary",
    "positional encoding sine cosine",
    "training cost in FLOPs",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Level:
    clients: int
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] * 1000


# ---- the server process ---------------------------------------------------------------------------------------
def serve(index_dir: str, docs: str, port: int, token: str, synthetic_pages: int) -> int:
    """Internal mode (`--serve`): build the index, then run the real app under uvicorn on 127.0.0.1."""
    sys.path.insert(0, str(REPO / "tests"))
    sys.path.insert(0, str(REPO / "bench"))
    import pagelens
    from fakes import FakeEmbedder
    from pagelens.server.run import serve_index

    index = pagelens.open(index_dir, embedder=FakeEmbedder())
    try:
        index.add([docs], progress=False)
        if synthetic_pages:
            from synthetic import SyntheticCorpus

            for batch in SyntheticCorpus(synthetic_pages, dim=FakeEmbedder.dim).records(batch_pages=64):
                index.add_embeddings(batch)
        _ = index.catalog  # load the page cache before the first request
        return serve_index(index, host="127.0.0.1", port=port, token=token, access_log=False)
    finally:
        index.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    workdir: Path, synthetic_pages: int, token: str, timeout: float
) -> tuple[subprocess.Popen[bytes], str]:
    docs = workdir / "docs"
    docs.mkdir()
    for pdf in CORPUS.glob("*.pdf"):
        shutil.copy(pdf, docs / pdf.name)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAGELENS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    command = [sys.executable, __file__, "--serve", str(workdir / "index"), str(docs), str(port), token]
    process = subprocess.Popen(
        [*command, str(synthetic_pages)], env=env, stdout=subprocess.DEVNULL, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with status {process.returncode}")
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    stop_server(process)
    raise SystemExit(f"the server did not start within {timeout:.0f}s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


# ---- the clients ------------------------------------------------------------------------------------------------
async def run_level(url: str, token: str, clients: int, requests: int, max_seconds: float, k: int) -> Level:
    import httpx

    level = Level(clients)
    issued = 0
    deadline = time.monotonic() + max_seconds
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=120) as http:

        async def client() -> None:
            nonlocal issued
            while issued < requests and time.monotonic() < deadline:
                query = QUERIES[issued % len(QUERIES)]
                issued += 1
                started = time.perf_counter()
                try:
                    response = await http.get("/api/search", params={"q": query, "k": k})
                    ok = response.status_code == 200 and len(response.json()["results"]) > 0
                except (httpx.HTTPError, ValueError, KeyError):
                    ok = False
                level.latencies.append(time.perf_counter() - started)
                level.errors += 0 if ok else 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        level.seconds = time.perf_counter() - started
    return level


def print_table(levels: list[Level], pages: int, url: str) -> None:
    cpu = platform.processor() or platform.machine()
    print(
        f"machine: {platform.node()} · {os.cpu_count()} CPU(s) · {cpu} · {platform.system()} · Python {platform.python_version()}"
    )
    print(f"server:  {url} · {pages} page(s) indexed · text searches, k=10")
    print()
    print(f"{'clients':>7} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>7}")
    for level in levels:
        count = len(level.latencies)
        rate = count / level.seconds if level.seconds else 0.0
        print(
            f"{level.clients:>7} {count:>8} {level.errors:>6} "
            f"{level.percentile(50):>8.1f} {level.percentile(99):>8.1f} {rate:>7.1f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32], help="concurrency levels")
    parser.add_argument("--requests", type=int, default=200, help="searches per level (default 200)")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time cap per level (default 60)")
    parser.add_argument(
        "--synthetic-pages", type=int, default=200, help="synthetic pages to add (default 200)"
    )
    parser.add_argument("-k", type=int, default=10, help="results per search")
    parser.add_argument(
        "--url", default=None, help="use a running server (loopback only) instead of starting one"
    )
    parser.add_argument(
        "--token", default=os.environ.get("PAGELENS_TOKEN", ""), help="bearer token for --url"
    )
    parser.add_argument(
        "--serve", nargs=5, metavar=("INDEX", "DOCS", "PORT", "TOKEN", "SYNTHETIC"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve:
        index_dir, docs, port, token, synthetic = args.serve
        return serve(index_dir, docs, int(port), token, int(synthetic))
    if args.requests <= 0 or args.max_seconds <= 0 or min(args.clients) <= 0:
        parser.error("--requests, --max-seconds and --clients must be positive")

    process = None
    workdir = None
    try:
        if args.url:
            host = urlsplit(args.url).hostname or ""
            if host not in LOOPBACK:
                parser.error(f"--url must be a loopback address (got {host!r})")
            url, token = args.url.rstrip("/"), args.token
        else:
            if not CORPUS.is_dir():
                parser.error(f"corpus not found: {CORPUS}")
            workdir = Path(tempfile.mkdtemp(prefix="pagelens-http-load-"))
            token = "bench-token"
            print(
                f"starting a server ({args.synthetic_pages} synthetic pages + the byaldi PDFs)…",
                file=sys.stderr,
            )
            process, url = start_server(
                workdir, args.synthetic_pages, token, timeout=120 + args.synthetic_pages / 5
            )
        import httpx

        status = httpx.get(
            f"{url}/api/status", headers={"Authorization": f"Bearer {token}"}, timeout=30
        ).json()
        asyncio.run(run_level(url, token, 1, 5, 30, args.k))  # warm-up
        levels = [
            asyncio.run(run_level(url, token, clients, args.requests, args.max_seconds, args.k))
            for clients in args.clients
        ]
        print_table(levels, int(status.get("pages", 0)), url)
        return 1 if any(level.errors for level in levels) else 0
    finally:
        if process is not None:
            stop_server(process)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
