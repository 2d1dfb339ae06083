"""Serve-refresh delay (issue 16.3): how long after another process commits does a reader of a shared index see it?

    bash scripts/milvus_server.sh shell nice .venv/bin/python bench/refresh_delay.py

On a shared index (a Milvus 2.3.5 server started here, `tcp://` to it; and the README's Milvus Lite server
recipe, `milvus-lite server` + `tcp://`), with a tiny random-weight ColQwen2 (pagelens.testing.tiny_models)
so that every CLI process loads its model in seconds:
1. `pagelens index` the generated samples, then start `pagelens serve` on the same index (its own process);
2. each round, a WRITER process adds one new image document (`pagelens index FILE`), then removes it
   (`pagelens remove FILE`), while four READERS poll back to back: HTTP `/api/status` (pages) and
   `/api/search?k=100` (is the document among the results?) of the running serve, and fresh CLI processes
   `pagelens status --json` and `pagelens search --json -k 100`;
3. the commit's time is the writer's own clock inside the commit: every commit writes `{"at": time.time()}`
   into the index's `generation` row (store/milvus.py), which a fifth poller reads (Strong) while the writer
   runs; the commit is the earliest new `at` it saw (for a removal, the document rows' delete: its later
   page deletes bump again);
4. a reader's delay = the end of its first reply showing the change - the commit; "stale after" = replies
   whose request started after the commit and still showed the old state.
Prints markdown and writes bench/results/refresh-delay.md (`--no-write`: print only).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))

MACHINE = "2-core x86_64 VM, 24 GiB, no GPU, shared with other jobs"
RESULTS = HERE / "results"
COLLECTION = "refresh"
QUERY = "quarterly revenue chart"
K = 100  # more than the index's pages: a present document is always among the results
LITE_PORT = 19531
SEEN_TIMEOUT = 60.0
_START = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _START:7.1f}s] {message}", file=sys.stderr, flush=True)


def pagelens_cli() -> list[str]:
    return [str(Path(sys.executable).with_name("pagelens"))]


# ---- polling ---------------------------------------------------------------------------------------------
@dataclass
class Poller:
    """Calls `probe` back to back in a thread, recording (request start, reply end, value) by wall clock."""

    name: str
    probe: Callable[[], Any]
    replies: list[tuple[float, float, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Poller:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.time()
            try:
                value = self.probe()
            except Exception as exc:  # noqa: BLE001 - a benchmark records and goes on
                self.errors.append(f"{type(exc).__name__}: {exc}"[:200])
                time.sleep(0.2)
                continue
            self.replies.append((started, time.time(), value))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=120)

    def first_seen(self, shows: Callable[[Any], bool]) -> float | None:
        return next((end for _, end, value in self.replies if shows(value)), None)


def http_pollers(base: str, token: str | None, name: str) -> list[Poller]:
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    client = httpx.Client(base_url=base, headers=headers, timeout=60)

    def status() -> int:
        reply = client.get("/api/status")
        reply.raise_for_status()
        return int(reply.json()["pages"])

    def search() -> bool:
        reply = client.get("/api/search", params={"q": QUERY, "k": K, "mode": "visual"})
        reply.raise_for_status()
        return any(Path(r["path"]).name == name for r in reply.json()["results"])

    return [Poller("HTTP /api/status", status), Poller("HTTP /api/search", search)]


def cli_pollers(index_args: list[str], name: str, env: dict[str, str]) -> list[Poller]:
    def run(*args: str) -> dict[str, Any]:
        done = subprocess.run(
            [*pagelens_cli(), *args, *index_args, "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(
                done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode
            )
        return dict(json.loads(done.stdout))

    def status() -> int:
        return int(run("status")["pages"])

    def search() -> bool:
        results = run("search", QUERY, "-k", str(K), "--mode", "visual")["results"]
        return any(Path(r["path"]).name == name for r in results)

    return [Poller("CLI pagelens status", status), Poller("CLI pagelens search", search)]


def generation_poller(uri: str, token: str | None) -> tuple[Poller, Callable[[], None]]:
    """The index's generation row, read Strong: each commit's own time.time() (`at`)."""
    from pagelens.store.location import IndexLocation
    from pagelens.store.milvus import MilvusStore

    store = MilvusStore(IndexLocation.parse(uri, token=token, collection=COLLECTION))

    def probe() -> float:
        time.sleep(0.02)
        return float(json.loads(store.generation())["at"])

    return Poller("generation (Strong)", probe), store.close


# ---- the shared index ----------------------------------------------------------------------------------------
@contextlib.contextmanager
def milvus_server(workdir: Path) -> Iterator[tuple[str, str | None, str]]:
    from milvus_server import MilvusServer

    with MilvusServer(workdir / "milvus") as server:
        log(f"Milvus 2.3.5 server up in {server.start_seconds:.1f} s")
        yield server.uri.replace("http://", "tcp://"), server.token, "Milvus 2.3.5 server (tcp://)"


@contextlib.contextmanager
def lite_server(workdir: Path) -> Iterator[tuple[str, str | None, str]]:
    data = workdir / "lite" / "milvus.db"
    data.parent.mkdir(parents=True)
    binary = Path(sys.executable).with_name("milvus-lite")
    command = [
        str(binary),
        "server",
        "--data-dir",
        str(data),
        "--host",
        "127.0.0.1",
        "--port",
        str(LITE_PORT),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait_port(LITE_PORT, 60)
        log("milvus-lite server up")
        yield f"tcp://127.0.0.1:{LITE_PORT}", None, "Milvus Lite server (README recipe, tcp://)"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        if process.poll() is None:
            os.killpg(process.pid, 9)
            process.wait()


BACKENDS = {"server": milvus_server, "lite-server": lite_server}


def wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:g} s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_document(folder: Path, number: int) -> Path:
    """A one-page image no other round has (its own content hash)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 480), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for line in range(8):
        draw.text((40, 40 + 50 * line), f"refresh round {number} line {line}", fill=(0, 0, 0))
    draw.rectangle((40 + 20 * number % 400, 300, 200 + 20 * number % 400, 440), fill=(30, 90, 200))
    path = folder / f"round{number}.png"
    image.save(path)
    return path


# ---- one backend -----------------------------------------------------------------------------------------
def run_cli(args: list[str], env: dict[str, str]) -> float:
    timer = time.perf_counter()
    done = subprocess.run([*pagelens_cli(), *args], capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"pagelens {' '.join(args[:2])} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - timer


def measure_backend(
    backend: str, workdir: Path, model: Path, docs: Path, rounds: int, env: dict[str, str]
) -> tuple[str, list[dict[str, Any]]]:
    with BACKENDS[backend](workdir) as (uri, token, label):
        index_args = ["--index", uri, "--collection", COLLECTION, *(["--token", token] if token else [])]
        seconds = run_cli(["index", str(docs), *index_args, "--model", str(model), "--quiet"], env)
        log(f"{label}: indexed the samples in {seconds:.1f} s")
        port = free_port()
        serve = subprocess.Popen(
            [*pagelens_cli(), "serve", *index_args, "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(workdir / f"serve-{backend}.log", "w"),  # noqa: SIM115 - closed with the process
            start_new_session=True,
        )
        try:
            wait_port(port, 180)
            log(f"{label}: pagelens serve up on port {port}")
            new = workdir / f"new-{backend}"
            new.mkdir()
            out = []
            for number in range(1, rounds + 1):
                document = new_document(new, number)
                for action in ("add", "remove"):
                    out.append(
                        one_change(action, document, uri, token, index_args, f"http://127.0.0.1:{port}", env)
                    )
                    log(f"{label}: round {number} {action}: {summary(out[-1])}")
            return label, out
        finally:
            os.killpg(serve.pid, 15)
            try:
                serve.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, 9)
                serve.wait()


def one_change(
    action: str,
    document: Path,
    uri: str,
    token: str | None,
    index_args: list[str],
    base: str,
    env: dict[str, str],
) -> dict[str, Any]:
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    before = int(httpx.get(f"{base}/api/status", headers=headers, timeout=60).json()["pages"])
    want_pages = before + 1 if action == "add" else before - 1
    shows_pages: Callable[[Any], bool] = lambda pages: pages == want_pages  # noqa: E731
    shows_presence: Callable[[Any], bool] = (
        (lambda present: present) if action == "add" else (lambda p: not p)
    )  # noqa: E731
    generation, close_store = generation_poller(uri, token)
    old_at = generation.probe()
    readers = [*http_pollers(base, token, document.name), *cli_pollers(index_args, document.name, env)]
    for poller in [generation, *readers]:
        poller.start()
    time.sleep(1.0)  # every reader has replied at least once with the old state (the CLI ones: started)
    command = ["index", str(document)] if action == "add" else ["remove", str(document), "--yes"]
    writer_started = time.time()
    writer_seconds = run_cli([*command, *index_args, "--quiet"], env)
    writer_ended = time.time()
    deadline = time.monotonic() + SEEN_TIMEOUT
    checks = [shows_pages, shows_presence, shows_pages, shows_presence]
    while time.monotonic() < deadline and not all(
        p.first_seen(check) for p, check in zip(readers, checks, strict=True)
    ):
        time.sleep(0.2)
    # one more reply each, so that a CLI reader started after the commit has finished
    time.sleep(0.5)
    for poller in [generation, *readers]:
        poller.stop()
    close_store()
    new_ats = sorted({at for _, _, at in generation.replies if at != old_at})
    commit = new_ats[0] if new_ats else None
    row: dict[str, Any] = {
        "action": action,
        "document": document.name,
        "writer_s": writer_seconds,
        "writer_exit_after_commit_s": None if commit is None else writer_ended - commit,
        "commits_seen": len(new_ats),
        "commit": commit,
        "writer_started": writer_started,
        "readers": {},
    }
    for poller, check in zip(readers, checks, strict=True):
        seen = poller.first_seen(check)
        after = [r for r in poller.replies if commit is not None and r[0] > commit]
        durations = [end - start for start, end, _ in poller.replies]
        row["readers"][poller.name] = {
            "delay_s": None if seen is None or commit is None else seen - commit,
            "stale_after": sum(1 for r in after if not check(r[2])),
            "replies_after": len(after),
            "reply_s": statistics.median(durations) if durations else None,
            "errors": poller.errors[:3],
        }
    return row


def summary(row: dict[str, Any]) -> str:
    parts = []
    for name, reader in row["readers"].items():
        delay = "never" if reader["delay_s"] is None else f"{reader['delay_s']:.2f} s"
        parts.append(f"{name} {delay}")
    return ", ".join(parts)


# ---- report ----------------------------------------------------------------------------------------------
def _fmt(values: list[float | None]) -> str:
    got = [v for v in values if v is not None]
    if not got:
        return "never"
    missing = len(values) - len(got)
    text = f"{statistics.median(got):.2f} ({min(got):.2f}-{max(got):.2f})"
    return text + (f", {missing} never" if missing else "")


def tables(results: list[tuple[str, list[dict[str, Any]]]], notes: list[str]) -> str:
    out = [
        "| index | change | reader | delay after the commit, s: median (min-max) | replies started after the "
        "commit that were still stale | one reply, s (median) |",
        "|---|---|---|---:|---:|---:|",
    ]
    for label, rows in results:
        for action in ("add", "remove"):
            picked = [r for r in rows if r["action"] == action]
            if not picked:
                continue
            for name in picked[0]["readers"]:
                readers = [r["readers"][name] for r in picked]
                stale = sum(r["stale_after"] for r in readers)
                after = sum(r["replies_after"] for r in readers)
                reply = [r["reply_s"] for r in readers if r["reply_s"] is not None]
                out.append(
                    f"| {label} | {action} ({len(picked)} rounds) | {name} | {_fmt([r['delay_s'] for r in readers])} "
                    f"| {stale} of {after} | {statistics.median(reply) if reply else float('nan'):.2f} |"
                )
    out += ["", *[f"- {note}" for note in notes]]
    for label, rows in results:
        writer = [r["writer_s"] for r in rows]
        exit_after = [
            r["writer_exit_after_commit_s"] for r in rows if r["writer_exit_after_commit_s"] is not None
        ]
        errors = {e for r in rows for reader in r["readers"].values() for e in reader["errors"]}
        out.append(
            f"- {label}: the writer process (`pagelens index FILE` / `pagelens remove FILE`) ran "
            f"{statistics.median(writer):.1f} s (median), and exited {statistics.median(exit_after):.2f} s "
            f"(median) after its commit; commits seen per change (generation values): "
            f"{sorted({r['commits_seen'] for r in rows})}"
            + (f"; reader errors: {sorted(errors)}" if errors else "")
        )
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="server,lite-server", help="server, lite-server or both")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    backends = [b for b in args.backends.split(",") if b]
    from pagelens.samples import write_samples
    from pagelens.testing.tiny_models import build_tiny_model

    workdir = Path(tempfile.mkdtemp(prefix="refresh-delay-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAGELENS_")}
    env.update({"PAGELENS_CACHE": str(workdir / "cache"), "PAGELENS_OCR": "off", "HF_HUB_OFFLINE": "1"})
    env.update({"OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"})
    results: list[tuple[str, list[dict[str, Any]]]] = []
    try:
        model = build_tiny_model("colqwen2", workdir / "model")
        docs = workdir / "docs"
        write_samples(docs)
        for backend in backends:
            results.append(measure_backend(backend, workdir, model, docs, args.rounds, env))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    notes = [
        "model: the tiny random-weight ColQwen2 of pagelens.testing.tiny_models (CLI processes load it in "
        "seconds); index: the generated samples (pagelens.samples), PAGELENS_OCR=off; each change is one "
        "new one-page PNG added, then removed",
        "commit = the writer's own time.time() written into the generation row by the commit (the earliest new "
        "value a Strong poller saw); delay = the end of the reader's first reply showing the change minus the "
        "commit, so it includes that reply's own duration (a CLI reader: a whole process, model load included)",
        "`pagelens serve` checks the generation once a second at most (one Bounded point query before a "
        "search) and re-reads the catalog when it changed; /api/status reads the documents and pages (Strong) "
        "on every call",
    ]
    header = (
        f"# Serve-refresh delay\n\n{MACHINE}; Python {sys.version.split()[0]}\n\n"
        f"command: `bash scripts/milvus_server.sh shell nice .venv/bin/python bench/refresh_delay.py "
        f"{' '.join(argv)}`\n\n"
    )
    text = header + tables(results, notes)
    print(text)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "refresh-delay.md").write_text(text)
        log("wrote bench/results/refresh-delay.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
