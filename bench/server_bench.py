"""Server benchmark: the same pages indexed on a real Milvus 2.3.5 server and on a Milvus Lite folder, through
the public API, measured side by side in one run (issue 16.5).

    bash scripts/milvus_server.sh shell .venv/bin/python bench/server_bench.py --sizes 1000,10000

It must run inside a private network namespace (that command makes one): it starts its own MilvusServer
(tests/milvus_server.py; data in a temporary folder, stopped at the end even on errors), or uses one given by
`--uri/--token` (`--server-data DIR` then names its data folder, for its RSS and size). For each size, on the
SAME pages (`--generator structured` by default; `--vectors N` cuts or repeats every page to N vectors):
1. build, one fresh process per backend (niced): `pagelens.open(uri, token=..., collection=...)` or
   `pagelens.open(folder)`, then `add_embeddings` in batches of whole documents: insert pages/s;
2. search, one FRESH process per backend (so its RSS is the client's own): open + first query, 2 warm-ups,
   then the text queries timed one by one (p50/p95), the client's RSS after them and the local disk it used
   (server: `$PAGELENS_CACHE`, pointed at an empty folder, must stay empty; Lite: the index folder);
3. the reference: exact MaxSim in numpy over the generator's pages rounded as stored (bfloat16,
   `pagelens.store.bfloat16.as_stored`), regenerated in blocks, in a process of its own: recall@10;
4. the Milvus server process' RSS (/proc of the milvus child) and how much its data folder grew;
5. at `--shard-sizes` (default: sizes >= 10,000): 4 processes add disjoint document ranges into one new server
   collection at once; the result must equal the single run (same documents, content hashes, page ids);
   `--restart-for-shards` restarts the server first (Milvus keeps a dropped collection's memory).
`--only single|sharded --dump-catalog PATH`: just that server build of the first size, its catalog as JSON
(one server session each, Milvus keeping a dropped collection's memory); `--compare-catalogs A B` compares two.
One BLAS thread everywhere (OMP_NUM_THREADS/OPENBLAS_NUM_THREADS=1, set before numpy is imported). Prints
markdown tables and writes bench/results/server-<sizes>.md (`--no-write`: print only). See bench/README.md.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for _path in (HERE, REPO / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from measure import disk_usage, peak_rss, timed  # noqa: E402

MACHINE = "2-core x86_64 VM, 24 GiB, no GPU, shared with other jobs"
RESULTS = HERE / "results"
K = 10
BLOCK_VECTORS = 262_144  # the reference holds ~128 MiB of float32 vectors at a time
BACKENDS = ("server", "lite")
_START = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _START:7.1f}s] {message}", file=sys.stderr, flush=True)


# ---- data ------------------------------------------------------------------------------------------------
class FixedSize:
    """A source whose pages are cut or repeated (evenly spaced rows) to exactly `vectors` vectors."""

    def __init__(self, source: Any, vectors: int) -> None:
        self.source = source
        self.size = vectors
        self.name, self.count, self.dim = source.name, source.count, source.dim
        self.description = f"{source.description}; every page cut/repeated to {vectors} vectors"

    def info(self, index: int) -> tuple[str, int]:
        return tuple(self.source.info(index))  # type: ignore[return-value]

    def vectors(self, index: int) -> np.ndarray:
        page = self.source.vectors(index)
        return page[np.linspace(0, len(page) - 1, self.size).round().astype(np.int64)]

    def queries(self, count: int, seed: int = 1) -> list[np.ndarray]:
        return list(self.source.queries(count, seed))


def make(spec: dict[str, Any]) -> Any:
    from generators import make_source

    source = make_source(spec["generator"], spec["pages"], spec["seed"])
    return FixedSize(source, spec["vectors"]) if spec.get("vectors") else source


def parts(source: Any, count: int) -> list[tuple[int, int]]:
    """At most `count` disjoint, non-empty page ranges covering the source, cut only between documents, about
    equal in pages."""
    starts = [i for i in range(source.count) if i == 0 or source.info(i)[0] != source.info(i - 1)[0]]
    cuts: list[int] = []
    for part in range(1, min(count, len(starts))):
        target = part * source.count // count
        # the first document start at or after the target, leaving a document for each later part
        allowed = starts[len(cuts) + 1 : len(starts) - (min(count, len(starts)) - 1 - part)]
        cuts.append(min((s for s in allowed if s >= target), default=allowed[-1]))
    edges = [0, *cuts, source.count]
    return [(a, b) for a, b in zip(edges, edges[1:], strict=False)]


def records(source: Any, start: int, stop: int, batch_pages: int) -> Iterator[list[dict[str, Any]]]:
    """`add_embeddings` records of pages [start, stop), ~batch_pages a batch, cut only between documents."""
    batch: list[dict[str, Any]] = []
    previous = None
    for index in range(start, stop):
        path, page = source.info(index)
        if len(batch) >= batch_pages and path != previous:
            yield batch
            batch = []
        batch.append({"path": path, "page": page, "embedding": source.vectors(index)})
        previous = path
    if batch:
        yield batch


# ---- measurements ----------------------------------------------------------------------------------------
def _rss(pid: int | str = "self") -> int:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def file_count(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder)) if folder.exists() else 0


def _tree_rss(pid: int) -> int:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += _rss(current)
        todo += [child for child, parent in parents.items() if parent == current]
    return total


def _open(spec: dict[str, Any], create: bool = True) -> Any:
    import pagelens

    if spec["backend"] == "server":
        return pagelens.open(spec["uri"], token=spec["token"], collection=spec["collection"], create=create)
    return pagelens.open(spec["folder"], create=create)


# ---- child processes -------------------------------------------------------------------------------------
def child_build(spec: dict[str, Any]) -> dict[str, Any]:
    source = make(spec)
    started = time.perf_counter()
    index = _open(spec)
    open_s = time.perf_counter() - started
    add_s = generate_s = 0.0
    pages = vectors = 0
    batch_s: list[float] = []
    batch_pages: list[int] = []
    for batch, seconds in timed(records(source, spec["start"], spec["stop"], spec["batch_pages"])):
        generate_s += seconds
        timer = time.perf_counter()
        index.add_embeddings(batch)
        batch_s.append(time.perf_counter() - timer)
        add_s += batch_s[-1]
        batch_pages.append(len(batch))
        pages += len(batch)
        vectors += sum(len(r["embedding"]) for r in batch)
    timer = time.perf_counter()
    index.close()
    close_s = time.perf_counter() - timer
    return {
        "open_s": open_s,
        "add_s": add_s,
        "close_s": close_s,
        "batch_s": batch_s,
        "batch_pages": batch_pages,
        "generate_s": generate_s,
        "pages": pages,
        "vectors": vectors,
        "peak_rss": peak_rss(),
    }


def child_search(spec: dict[str, Any]) -> dict[str, Any]:
    with np.load(spec["queries_file"]) as data:
        queries = [data[f"q{i}"].astype(np.float32) for i in range(spec["queries"])]
    rss_start = _rss()
    timer = time.perf_counter()
    index = _open(spec, create=False)
    first = index.search_embedding(queries[0], k=K)
    reopen_s = time.perf_counter() - timer
    assert first, "the first search returned nothing"
    for query in queries[1:3]:  # warm-up
        index.search_embedding(query, k=K)
    seconds, found, exact_scored = [], [], []
    for query in queries:
        timer = time.perf_counter()
        hits = index.search_embedding(query, k=K)
        seconds.append(time.perf_counter() - timer)
        found.append([[h.path, h.page] for h in hits])
        exact_scored.append(index.retriever.trace.exact)
    rss_after = _rss()
    index.close()
    return {
        "reopen_s": reopen_s,
        "seconds": seconds,
        "found": found,
        "scored_exactly": exact_scored,
        "rss_start": rss_start,
        "rss_after": rss_after,
        "peak_rss": peak_rss(),
    }


def child_reference(spec: dict[str, Any]) -> dict[str, Any]:
    """Exact MaxSim of every query against every page as stored (bfloat16-rounded), pages in blocks."""
    from pagelens.store.bfloat16 import as_stored

    source = make(spec)
    with np.load(spec["queries_file"]) as data:
        queries = [data[f"q{i}"].astype(np.float32) for i in range(spec["queries"])]
    scores = np.empty((len(queries), source.count), dtype=np.float32)
    start, vectors = 0, 0
    while start < source.count:
        block, total = [], 0
        while start + len(block) < source.count and (not block or total < BLOCK_VECTORS):
            block.append(as_stored(source.vectors(start + len(block))))
            total += len(block[-1])
        flat = np.concatenate(block)
        offsets = np.cumsum([0] + [len(p) for p in block[:-1]])
        for q, query in enumerate(queries):
            maxima = np.maximum.reduceat(query @ flat.T, offsets, axis=1)
            scores[q, start : start + len(block)] = maxima.sum(axis=0)
        start += len(block)
        vectors += total
    rankings = []
    for q in range(len(queries)):
        order = np.lexsort((np.arange(source.count), -scores[q]))[:K]
        rankings.append([list(source.info(int(i))) for i in order])
    return {"rankings": rankings, "vectors": vectors, "peak_rss": peak_rss()}


CHILDREN = {"build": child_build, "search": child_search, "reference": child_reference}


# ---- the parent ------------------------------------------------------------------------------------------
class Runner:
    def __init__(
        self, workdir: Path, max_rss_gb: float, env: dict[str, str], max_server_rss_gb: float
    ) -> None:
        self.workdir = workdir
        self.max_rss = max_rss_gb * 2**30
        self.max_server_rss = max_server_rss_gb * 2**30
        self.env = env
        self.counter = 0
        self.server: ServerInfo | None = None
        self.restart: Any = None  # restarts the Milvus server this run started (None: --uri)
        self.server_peak = 0  # the Milvus server's RSS, sampled while children run

    def start(self, kind: str, spec: dict[str, Any]) -> tuple[subprocess.Popen[bytes], Path]:
        self.counter += 1
        spec_file = self.workdir / f"{self.counter:03d}-{kind}-spec.json"
        out_file = spec_file.with_name(f"{self.counter:03d}-{kind}-out.json")
        spec_file.write_text(json.dumps(spec))
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            kind,
            str(spec_file),
            str(out_file),
        ]
        process = subprocess.Popen(command, preexec_fn=lambda: os.nice(10), env=self.env)
        return process, out_file

    def wait(self, started: list[tuple[subprocess.Popen[bytes], Path]]) -> tuple[list[dict[str, Any]], float]:
        """Results of the started children (raising if one failed), and their peak summed RSS."""
        peak, killed = 0, ""
        while any(p.poll() is None for p, _ in started):
            current = sum(_tree_rss(p.pid) for p, _ in started if p.poll() is None)
            peak = max(peak, current)
            server = (self.server.rss() if self.server is not None else None) or 0
            self.server_peak = max(self.server_peak, server)
            if current > self.max_rss and not killed:
                killed = f"the children's RSS passed {self.max_rss / 2**30:g} GiB (--max-rss-gb)"
            if server > self.max_server_rss and not killed:
                killed = f"the Milvus server's RSS passed {self.max_server_rss / 2**30:g} GiB (--max-server-rss-gb)"
            if killed:
                log(f"stopping the children: {killed}")
                for p, _ in started:
                    if p.poll() is None:
                        p.send_signal(signal.SIGKILL)
                break
            time.sleep(0.25)
        if killed:
            for p, _ in started:
                p.wait()
            raise RuntimeError(f"stopped: {killed}")
        results = [json.loads(out.read_text()) if out.exists() else {} for _, out in started]
        failed = [
            f"exited with {p.returncode}: {r.get('error', 'see its traceback above')}"
            for (p, _), r in zip(started, results, strict=True)
            if p.returncode != 0 or "error" in r or not r
        ]
        if failed:
            raise RuntimeError(f"{len(failed)} of {len(started)} child process(es) failed; first {failed[0]}")
        return results, peak

    def run(self, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
        timer = time.perf_counter()
        (result,), peak = self.wait([self.start(kind, spec)])
        result["wall_s"] = time.perf_counter() - timer
        result["monitor_peak_rss"] = peak
        return result


class ServerInfo:
    """The Milvus server process' RSS and data folder, where they can be read (None otherwise)."""

    def __init__(self, data_dir: Path | None) -> None:
        self.data_dir = data_dir
        self.pid: int | None = None
        self.reload()

    def reload(self) -> None:
        """Find the milvus process (again, after a restart) from the launcher's ready file."""
        self.pid = None
        if self.data_dir is not None:
            try:
                self.pid = int(json.loads((self.data_dir / "ready.json").read_text())["milvus_pid"])
            except (OSError, ValueError, KeyError):
                self.pid = None

    def rss(self) -> int | None:
        value = _rss(self.pid) if self.pid else 0
        return value or None

    def disk(self) -> int | None:
        return disk_usage(self.data_dir) if self.data_dir is not None else None


def catalog_of(spec: dict[str, Any]) -> tuple[set[tuple[str, str, int]], set[int], int]:
    """(documents as (path, content hash, pages), page ids, vectors) of a server collection."""
    index = _open(spec, create=False)
    try:
        documents = {(d.path, d.content_hash, d.pages) for d in index.documents() if d.status == "indexed"}
        pages = index.catalog.pages
        return documents, {p.page_id for p in pages}, sum(p.n_vectors for p in pages)
    finally:
        index.close()


def dump_catalog(spec: dict[str, Any], path: Path) -> dict[str, Any]:
    """Write a server collection's catalog to `path` as JSON: pages as sorted [page_id, content_hash, page,
    n_vectors], indexed documents as sorted [path, content_hash, pages]; return the counts."""
    index = _open(spec, create=False)
    try:
        documents = sorted(
            [d.path, d.content_hash, d.pages] for d in index.documents() if d.status == "indexed"
        )
        pages = sorted([p.page_id, p.content_hash, p.page, p.n_vectors] for p in index.catalog.pages)
    finally:
        index.close()
    path.write_text(json.dumps({"pages": pages, "documents": documents}))
    return {
        "catalog_pages": len(pages),
        "catalog_documents": len(documents),
        "catalog_vectors": sum(p[3] for p in pages),
    }


def compare_catalogs(first: Path, second: Path) -> bool:
    """Print how two `--dump-catalog` files differ (counts, rows only in one); True when equal."""
    a, b = (json.loads(p.read_text()) for p in (first, second))
    for key in ("pages", "documents"):
        rows_a, rows_b = {tuple(x) for x in a[key]}, {tuple(x) for x in b[key]}
        print(
            f"{key}: {len(a[key]):,} vs {len(b[key]):,}; only in {first.name}: {len(rows_a - rows_b)}, "
            f"only in {second.name}: {len(rows_b - rows_a)}"
        )
    print("EQUAL" if a == b else "DIFFERENT")
    return bool(a == b)


def build_only(
    args: argparse.Namespace, runner: Runner, server: ServerInfo, uri: str, token: str | None
) -> None:
    """`--only single|sharded`: one build of the first size (one process, or `--shards` processes at once on
    disjoint document ranges into one new collection), then its catalog to `--dump-catalog`. Each in a server
    session of its own, since Milvus keeps a dropped collection's memory (compare the dumps afterwards)."""
    pages = args.sizes[0]
    spec: dict[str, Any] = {
        "generator": args.generator,
        "pages": pages,
        "seed": args.seed,
        "vectors": args.vectors,
        "batch_pages": args.batch_pages,
        "backend": "server",
        "uri": uri,
        "token": token,
        "collection": f"bench{pages}_{args.only}_{int(time.time())}",
    }
    source = make(spec)
    ranges = [(0, pages)] if args.only == "single" else parts(source, args.shards)
    runner.server = server
    log(f"{pages:,} pages: {args.only} build, ranges {ranges} ({memory_line()})")
    timer = time.perf_counter()
    results, peak = runner.wait([runner.start("build", {**spec, "start": a, "stop": b}) for a, b in ranges])
    wall = time.perf_counter() - timer
    counts = dump_catalog(spec, Path(args.dump_catalog)) if args.dump_catalog else {}
    summary = {
        "only": args.only,
        "pages": pages,
        "ranges": ranges,
        "wall_s": wall,
        "add_s": [r["add_s"] for r in results],
        "generate_s": [r["generate_s"] for r in results],
        "monitor_peak_rss": peak,
        "server_rss": server.rss(),
        "server_peak_rss": runner.server_peak or None,
        **counts,
    }
    log(f"{args.only}: {json.dumps(summary)}")
    print(json.dumps(summary))


def drop(spec: dict[str, Any]) -> None:
    index = _open(spec, create=False)
    try:
        index.store.drop()
    finally:
        index.close()


def recall(found: list[list[Any]], reference: list[list[Any]]) -> float:
    want = {tuple(x) for x in reference}
    return len({tuple(x) for x in found} & want) / len(want) if want else 1.0


def memory_line() -> str:
    try:
        text = Path("/proc/meminfo").read_text().splitlines()
        fields = {line.split(":")[0]: int(line.split()[1]) for line in text}
        return f"{fields['MemAvailable'] / 2**20:.1f} GiB available of {fields['MemTotal'] / 2**20:.1f} GiB"
    except (OSError, KeyError, ValueError, IndexError):
        return "unknown"


def measure_size(
    args: argparse.Namespace, pages: int, runner: Runner, server: ServerInfo, uri: str, token: str | None
) -> dict[str, Any]:
    from generators import make_source

    stamp = f"{int(time.time())}"
    base = {
        "generator": args.generator,
        "pages": pages,
        "seed": args.seed,
        "vectors": args.vectors,
        "batch_pages": args.batch_pages,
        "queries": args.queries,
    }
    source = make(base)
    queries = make_source(args.generator, pages, args.seed).queries(args.queries, args.seed + 1)
    queries_file = runner.workdir / f"queries-{pages}.npz"
    np.savez(queries_file, **{f"q{i}": q for i, q in enumerate(queries)})  # type: ignore[arg-type]
    base["queries_file"] = str(queries_file)
    server_spec = {
        **base,
        "backend": "server",
        "uri": uri,
        "token": token,
        "collection": f"bench{pages}_{stamp}",
    }
    lite_folder = runner.workdir / f"lite-{pages}"
    shutil.rmtree(lite_folder, ignore_errors=True)
    lite_spec = {**base, "backend": "lite", "folder": str(lite_folder)}
    row: dict[str, Any] = {
        "pages": pages,
        "description": source.description,
        "documents": len({source.info(i)[0] for i in range(pages)}),
    }
    client_cache = Path(runner.env["PAGELENS_CACHE"])
    runner.server = server
    runner.server_peak = 0
    try:
        disk_before = server.disk()
        for name, spec in (("server", server_spec), ("lite", lite_spec)):
            log(f"{pages:,} pages: {name} build ({memory_line()})")
            row[f"{name}_build"] = runner.run("build", {**spec, "start": 0, "stop": pages})
            row[f"{name}_build"]["cache_files"] = file_count(client_cache)
            log(f"  {pages / row[f'{name}_build']['add_s']:,.1f} pages/s; server RSS {_gib(server.rss())}")
        row["server_rss_after_build"] = server.rss()
        row["server_peak_rss"] = runner.server_peak or None
        for name, spec in (("server", server_spec), ("lite", lite_spec)):
            log(f"{pages:,} pages: {name} search in a fresh process ({memory_line()})")
            row[f"{name}_search"] = runner.run("search", spec)
        row["server_rss_after_search"] = server.rss()
        row["server_cache_files"] = file_count(client_cache)
        row["server_cache_bytes"] = disk_usage(client_cache) if client_cache.exists() else 0
        row["lite_disk"] = disk_usage(lite_folder)
        disk_after = server.disk()
        row["server_data_growth"] = (
            None if disk_before is None or disk_after is None else disk_after - disk_before
        )
        log(f"{pages:,} pages: exact reference in numpy")
        row["reference"] = runner.run("reference", base)
        if pages in args.shard_sizes:
            row["shards"] = shard_check(args, pages, runner, server_spec, source, server)
    finally:
        shutil.rmtree(lite_folder, ignore_errors=True)
        if not args.keep and not server_spec.get("dropped"):
            try:
                drop(server_spec)
            except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not stop on cleanup
                log(f"could not drop {server_spec['collection']}: {exc}")
    return row


def shard_check(
    args: argparse.Namespace,
    pages: int,
    runner: Runner,
    single: dict[str, Any],
    source: Any,
    server: ServerInfo,
) -> dict[str, Any]:
    """`--shards` processes at once into one new collection, each a disjoint document range; equal to the single
    run? First into a collection nobody created yet (as `pagelens index --shard i/N` started together would
    do); if that fails, again into a collection that one process created first (by adding the first document;
    the shard that owns it adds it again, a no-op)."""
    log(f"{pages:,} pages: single run's catalog")
    want = catalog_of(single)
    out_restart: dict[str, Any] = {}
    ranges = parts(source, args.shards)
    out: dict[str, Any] = {"ranges": ranges, "single_pages": len(want[1]), "single_documents": len(want[0])}
    if not args.keep:  # free the server's memory before the second copy
        drop(single)
        single["dropped"] = True
        if args.restart_for_shards and runner.restart is not None:
            # Milvus does not hand a dropped collection's memory back to the system: without a restart the
            # sharded copy comes on top of the single run's (a 10,000-page run passed 9 GiB of server RSS)
            out_restart["rss_before"] = server.rss()
            timer = time.perf_counter()
            try:
                runner.restart()
            except Exception as exc:  # noqa: BLE001 - reported in the table; the measured sizes are kept
                log(f"could not restart the server: {exc}")
                out["error"] = f"the server did not restart: {exc}"[:300]
                return out
            server.reload()
            out_restart.update(seconds=time.perf_counter() - timer, rss_after=server.rss())
            log(
                f"restarted the server in {out_restart['seconds']:.1f} s: RSS {_gib(out_restart['rss_before'])} "
                f"after the drop, {_gib(out_restart['rss_after'])} after the restart"
            )
    if out_restart:
        out["restart"] = out_restart
    first_document = next(
        i for i in range(1, pages + 1) if i == pages or source.info(i)[0] != source.info(0)[0]
    )
    for attempt in ("cold", "primed"):
        spec = {**single, "collection": f"{single['collection']}_{attempt}"}
        log(
            f"{pages:,} pages: {len(ranges)} processes at once ({attempt}), ranges {ranges} ({memory_line()})"
        )
        timer = time.perf_counter()
        try:
            if attempt == "primed":
                runner.run("build", {**spec, "start": 0, "stop": first_document})
            results, peak = runner.wait(
                [runner.start("build", {**spec, "start": a, "stop": b}) for a, b in ranges]
            )
        except RuntimeError as exc:
            out[attempt] = {"error": str(exc), "wall_s": time.perf_counter() - timer}
            log(f"  {attempt}: {exc}")
            with contextlib.suppress(Exception):
                drop(spec)
            continue
        wall = time.perf_counter() - timer
        docs, page_ids, vectors = catalog_of(spec)
        out[attempt] = {
            "wall_s": wall,
            "processes": len(ranges),
            "pages": len(page_ids),
            "documents": len(docs),
            "equal": (docs, page_ids, vectors) == want,
            "missing_pages": len(want[1] - page_ids),
            "extra_pages": len(page_ids - want[1]),
            "monitor_peak_rss": peak,
            "server_rss": server.rss(),
            "server_peak_rss": runner.server_peak or None,
            "children": results,
        }
        if not args.keep:
            drop(spec)
        break
    return out


# ---- tables ----------------------------------------------------------------------------------------------
def _gib(value: float | None) -> str:
    return "—" if value is None else f"{value / 2**30:.2f} GiB"


def _mib(value: float | None) -> str:
    return "—" if value is None else f"{value / 2**20:,.1f} MiB"


def insert_rates(build: dict[str, Any]) -> str:
    """Pages/s over every add_embeddings call, and over those after the first (which creates the collections)."""
    overall = f"{build['pages'] / build['add_s']:,.1f}"
    if len(build["batch_s"]) < 2:
        return overall
    steady = sum(build["batch_pages"][1:]) / sum(build["batch_s"][1:])
    return f"{overall} ({steady:,.1f})"


def _ms(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def tables(rows: list[dict[str, Any]], notes: list[str]) -> str:
    if not rows:
        return "no size was measured\n\n" + "\n".join(f"- {note}" for note in notes) + "\n"
    out = [
        "| backend | pages | insert pages/s (after the first batch) | build wall (s) | p50 query (ms) | p95 query (ms) | "
        "recall@10 vs exact, mean (worst) | client RSS after queries | client local disk | "
        "Milvus server RSS after the searches (peak while building) | server data folder growth |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        reference = row["reference"]["rankings"]
        for backend in BACKENDS:
            build, search = row[f"{backend}_build"], row[f"{backend}_search"]
            recalls = [recall(f, r) for f, r in zip(search["found"], reference, strict=True)]
            if backend == "server":
                disk = f"{_mib(row['server_cache_bytes'])} ({row['server_cache_files']} files in $PAGELENS_CACHE)"
                server_rss = f"{_gib(row['server_rss_after_search'])} (peak {_gib(row['server_peak_rss'])})"
                growth = _mib(row["server_data_growth"])
            else:
                disk, server_rss, growth = f"{_mib(row['lite_disk'])} (index folder)", "—", "—"
            out.append(
                f"| {'Milvus 2.3.5 server' if backend == 'server' else 'Milvus Lite folder'} | {row['pages']:,} "
                f"| {insert_rates(build)} | {build['wall_s']:,.1f} | {_ms(search['seconds'], 50):,.1f} "
                f"| {_ms(search['seconds'], 95):,.1f} | {np.mean(recalls):.3f} ({min(recalls):.2f}) "
                f"| {_gib(search['rss_after'])} | {disk} | {server_rss} | {growth} |"
            )
    out += ["", "How query latency grows with pages (p50, ms):", ""]
    sizes = [row["pages"] for row in rows]
    out.append("| backend | " + " | ".join(f"{s:,} pages" for s in sizes) + " | growth, largest / smallest |")
    out.append("|---|" + "---:|" * (len(sizes) + 1))
    for backend in BACKENDS:
        p50 = [_ms(row[f"{backend}_search"]["seconds"], 50) for row in rows]
        growth = f"{p50[-1] / p50[0]:.2f}x for {sizes[-1] / sizes[0]:g}x pages" if len(rows) > 1 else "—"
        name = "Milvus 2.3.5 server" if backend == "server" else "Milvus Lite folder"
        out.append(f"| {name} | " + " | ".join(f"{v:,.1f}" for v in p50) + f" | {growth} |")
    sharded = [row for row in rows if "shards" in row]
    if sharded:
        out += ["", "Sharded indexing into one server collection:", ""]
        out.append(
            "| pages | run | processes | wall (s) | pages/s | pages | documents | equal to the single run |"
        )
        out.append("|---:|---|---:|---:|---:|---:|---:|---|")
        for row in sharded:
            shards, build = row["shards"], row["server_build"]
            out.append(
                f"| {row['pages']:,} | single run | 1 | {build['wall_s']:,.1f} | {row['pages'] / build['wall_s']:,.1f} "
                f"| {shards['single_pages']:,} | {shards['single_documents']:,} | (the reference) |"
            )
            if "error" in shards:
                out.append(f"| {row['pages']:,} | sharded | — | — | — | — | — | NOT RUN: {shards['error']} |")
            for attempt, label in (
                ("cold", "sharded, all at once on a new index"),
                ("primed", "sharded, index created first"),
            ):
                result = shards.get(attempt)
                if result is None:
                    continue
                if "error" in result:
                    out.append(
                        f"| {row['pages']:,} | {label} | {len(shards['ranges'])} | — | — | — | — | FAILED: {result['error']} |"
                    )
                    continue
                verdict = (
                    "yes: same documents, content hashes, page ids and vectors"
                    if result["equal"]
                    else f"NO: {result['missing_pages']} pages missing, {result['extra_pages']} extra"
                )
                out.append(
                    f"| {row['pages']:,} | {label} | {result['processes']} | {result['wall_s']:,.1f} "
                    f"| {row['pages'] / result['wall_s']:,.1f} | {result['pages']:,} | {result['documents']:,} | {verdict} |"
                )
    out += ["", *[f"- {note}" for note in notes]]
    for row in rows:
        out.append(f"- {row['pages']:,} pages: " + size_notes(row))
    return "\n".join(out) + "\n"


def size_notes(row: dict[str, Any]) -> str:
    server, lite = row["server_build"], row["lite_build"]
    parts_ = [
        f"{row['documents']:,} documents, {server['vectors']:,} vectors ({server['vectors'] / row['pages']:,.0f} a page)",
        f"server build: open/create {server['open_s']:.1f} s + add_embeddings {server['add_s']:.1f} s + close "
        f"{server['close_s']:.1f} s, peak RSS {_gib(server['peak_rss'])}, files in $PAGELENS_CACHE after it: "
        f"{server['cache_files']}",
        f"Lite build: open {lite['open_s']:.1f} s + add_embeddings {lite['add_s']:.1f} s + close {lite['close_s']:.1f} s, "
        f"peak RSS {_gib(lite['peak_rss'])}",
        f"first add_embeddings call ({server['batch_pages'][0]} pages; it creates the collections): server "
        f"{server['batch_s'][0]:.1f} s, Lite {lite['batch_s'][0]:.1f} s",
        f"generating pages (not timed in pages/s): {server['generate_s']:.1f} s per build",
    ]
    for backend in BACKENDS:
        search = row[f"{backend}_search"]
        parts_.append(
            f"{backend} search process: reopen (open + first query) {search['reopen_s']:.2f} s, RSS before open "
            f"{_gib(search['rss_start'])}, peak {_gib(search['peak_rss'])}, pages scored exactly per query "
            f"median {int(np.median(search['scored_exactly']))}"
        )
    parts_.append(
        f"Milvus server RSS after the builds {_gib(row['server_rss_after_build'])}, after the searches "
        f"{_gib(row['server_rss_after_search'])}"
    )
    restart = row.get("shards", {}).get("restart")
    if restart:
        parts_.append(
            f"before the sharded runs the server was restarted ({restart['seconds']:.1f} s; --restart-for-shards): "
            f"its RSS was {_gib(restart['rss_before'])} after the single run's collection was dropped, "
            f"{_gib(restart['rss_after'])} after the restart"
        )
    for attempt in ("cold", "primed"):
        result = row.get("shards", {}).get(attempt)
        if result and "error" not in result:
            parts_.append(
                f"shards ({attempt}): page ranges {row['shards']['ranges']}, summed peak RSS of the processes "
                f"{_gib(result['monitor_peak_rss'])}, Milvus server RSS after them {_gib(result['server_rss'])}"
            )
    return "; ".join(parts_)


def versions() -> str:
    out = [f"Python {platform.python_version()}", f"numpy {np.__version__}"]
    from importlib.metadata import PackageNotFoundError, version

    for name in ("pymilvus", "milvus-lite"):
        try:
            out.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            continue
    return ", ".join(out)


def measure_all(
    args: argparse.Namespace,
    runner: Runner,
    server: ServerInfo,
    uri: str,
    token: str | None,
    rows: list[dict[str, Any]],
    notes: list[str],
) -> None:
    """Every size in turn; a size that fails (or passes a memory guard) is noted and ends the run."""
    for pages in args.sizes:
        try:
            rows.append(measure_size(args, pages, runner, server, uri, token))
        except RuntimeError as exc:
            log(f"{pages:,} pages: {exc}")
            notes.append(f"{pages:,} pages: not measured, {exc}")
            return


# ---- main ------------------------------------------------------------------------------------------------
def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--generator", default="structured")
    parser.add_argument("--vectors", type=int, default=None, help="cut or repeat every page to N vectors")
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--batch-pages", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument(
        "--shard-sizes", default=None, help="sizes with the sharded check (default: >= 10000)"
    )
    parser.add_argument("--uri", default=None, help="use this server instead of starting one")
    parser.add_argument("--token", default=None)
    parser.add_argument("--server-data", default=None, help="the --uri server's data folder (RSS, size)")
    parser.add_argument("--workdir", default=None, help="default: a temporary folder, removed at the end")
    parser.add_argument("--max-rss-gb", type=float, default=6.0, help="children above this are stopped")
    parser.add_argument(
        "--max-server-rss-gb",
        type=float,
        default=6.0,
        help="the run stops when the Milvus server passes this",
    )
    parser.add_argument("--keep", action="store_true", help="keep the server collections")
    parser.add_argument(
        "--restart-for-shards",
        action="store_true",
        help="restart the server this run started before the sharded runs (Milvus keeps a dropped "
        "collection's memory); NOT WORKING YET: here the restarted server exits while starting, and the "
        "sharded row says NOT RUN",
    )
    parser.add_argument(
        "--only",
        choices=("single", "sharded"),
        default=None,
        help="only one server build of the first size (1 process, or --shards at once), no Lite, no search",
    )
    parser.add_argument("--dump-catalog", default=None, help="with --only: write the catalog here as JSON")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--command", default=None, help="the command line to print in the results")
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",")]
    args.shard_sizes = (
        {int(s) for s in args.shard_sizes.split(",") if s}
        if args.shard_sizes is not None
        else {s for s in args.sizes if s >= 10_000}
    )
    return args


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        kind, spec_file, out_file = argv[1:4]
        try:
            result = CHILDREN[kind](json.loads(Path(spec_file).read_text()))
        except Exception as exc:  # the parent reports it (the traceback goes to stderr as well)
            Path(out_file).write_text(json.dumps({"error": f"{type(exc).__name__}: {exc}"[:300]}))
            raise
        Path(out_file).write_text(json.dumps(result))
        return 0
    if argv[:1] == ["--compare-catalogs"]:
        return 0 if compare_catalogs(Path(argv[1]), Path(argv[2])) else 1
    args = parse(argv)
    from milvus_server import TOKEN, MilvusServer, _port_open

    owned = Path(tempfile.mkdtemp(prefix="server-bench-"))
    workdir = Path(args.workdir) if args.workdir else owned
    workdir.mkdir(parents=True, exist_ok=True)
    cache = owned / "client-cache"  # $PAGELENS_CACHE of every child: must stay empty on the server path
    env = {**os.environ, "PAGELENS_CACHE": str(cache)}
    runner = Runner(workdir, args.max_rss_gb, env, args.max_server_rss_gb)
    notes = [
        f"data: the `{args.generator}` generator (bench/generators/), seed {args.seed}"
        + (
            f", every page cut/repeated to {args.vectors} vectors"
            if args.vectors
            else ", its own page-size mix"
        ),
        f"{args.queries} text queries of the generator; recall@10 against exact MaxSim in numpy over the pages "
        "rounded as stored (bfloat16); every figure from a fresh process per backend (build, search), niced",
        f"add_embeddings in batches of ~{args.batch_pages} pages (whole documents); insert pages/s = pages / time "
        "inside add_embeddings (page generation excluded); build wall = the whole build process",
        "client RSS: the search process after its queries (its own, the server is another process); client local "
        "disk: files under $PAGELENS_CACHE (server) or the index folder (Lite)",
    ]
    rows: list[dict[str, Any]] = []
    try:
        if args.uri:
            server = ServerInfo(Path(args.server_data) if args.server_data else None)
            uri, token = args.uri, args.token
            notes.append(f"server: an existing one at {uri}")
            measure_all(args, runner, server, uri, token, rows, notes)
        else:
            with MilvusServer(owned / "milvus") as milvus:
                log(f"Milvus server started in {milvus.start_seconds:.1f} s ({memory_line()})")
                server = ServerInfo(milvus.data_dir)

                def restart() -> None:
                    milvus.stop()
                    deadline = time.monotonic() + 60
                    while _port_open(milvus.port) and time.monotonic() < deadline:  # its children exit late
                        time.sleep(0.5)
                    milvus.start()

                runner.restart = restart
                notes.append(
                    "server: Milvus 2.3.5 standalone (PyPI milvus==2.3.5, tests/milvus_server.py) on this machine, "
                    "auth on, proxy.timeTickInterval 50, in a private network namespace; its data folder growth is "
                    "measured over each size's builds and searches (logs, etcd and the message store included)"
                )
                if args.only:
                    build_only(args, runner, server, milvus.uri, TOKEN)
                    return 0
                measure_all(args, runner, server, milvus.uri, TOKEN, rows, notes)
    finally:
        shutil.rmtree(owned, ignore_errors=True)
    notes.append(f"memory at the end: {memory_line()}")
    command = (
        args.command
        or "bash scripts/milvus_server.sh shell .venv/bin/python bench/server_bench.py " + " ".join(argv)
    )
    header = (
        f"# Server benchmark: {', '.join(f'{s:,}' for s in args.sizes)} pages\n\n{MACHINE}; {versions()}; "
        f"OMP/OPENBLAS threads 1\n\ncommand: `{command}`\n\ndata: {rows[0]['description'] if rows else ''}\n\n"
    )
    text = header + tables(rows, notes)
    print(text)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        target = RESULTS / f"server-{'-'.join(str(s) for s in args.sizes)}.md"
        target.write_text(text)
        log(f"wrote {target.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
