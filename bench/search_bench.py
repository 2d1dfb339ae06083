"""Search benchmark: pagelens vs exact brute-force MaxSim vs the Milvus tutorial's retriever.

    .venv/bin/python bench/search_bench.py [--pages 1000,10000] [--queries 50] [--tutorial-pages 100]

Prints the machine, then one markdown table per corpus size (also written to bench/results/search-<pages>.md),
with per-phase timings and checks. Progress goes to stderr. The default run (100 + 1,000 + 10,000 pages)
takes ~20 minutes on the 2-core dev machine; see bench/README.md for what every column means.

Everything runs in this one process, on the same synthetic vectors (bench/synthetic.py):
- "exact brute force": numpy float32 MaxSim of every query against every page held in RAM as float32: the
  reference ranking that every other row's recall@k / nDCG@k is measured against.
- "pagelens": `pagelens.open(folder)` + `add_embeddings` + `search_embedding(q, k)` (default candidates);
  "pagelens exact=True" the same index scoring every page; "pagelens candidates=N" the same folder reopened
  with `pagelens.open(folder, candidates=N)`.
- "milvus tutorial": bench/tutorial_baseline.py on its own Milvus Lite folder, at --tutorial-pages only.
Queries are given vectors: no embedding time anywhere.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import ctypes
import gc
import io
import os
import platform
import pstats
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pagelens.store import bfloat16

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from measure import disk_usage  # noqa: E402
from synthetic import SyntheticCorpus  # noqa: E402
from tutorial_baseline import TutorialRetriever  # noqa: E402

RESULTS = HERE / "results"
K = 10
SCORE_TOLERANCE = 1e-4
_START = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _START:7.1f}s] {message}", file=sys.stderr, flush=True)


# ---- the machine ----------------------------------------------------------------------------------------
def _openblas() -> tuple[Any, str] | None:
    """numpy's own OpenBLAS library and its symbol pattern, or None when numpy uses another BLAS. Other
    OpenBLAS copies may be loaded too (faiss-cpu, which Milvus Lite imports, bundles its own): numpy's is the
    one under numpy's folder or named scipy_openblas."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line}
    except OSError:
        return None
    numpy_dir = str(Path(np.__file__).resolve().parent)

    def numpys_first(path: str) -> tuple[int, str]:
        own = path.startswith(numpy_dir) or "numpy.libs" in path or "scipy_openblas" in path
        return (0 if own else 1, path)

    for path in sorted(paths, key=numpys_first)[:1]:
        with contextlib.suppress(OSError):
            lib = ctypes.CDLL(path)
            for prefix, suffix in (
                ("scipy_openblas", "64_"),
                ("openblas", "64_"),
                ("openblas", ""),
                ("scipy_openblas", ""),
            ):
                if hasattr(lib, f"{prefix}_get_num_threads{suffix}"):
                    return lib, f"{prefix}_%s{suffix}"
    return None


def blas_threads() -> int | None:
    found = _openblas()
    if found is None:
        return None
    lib, pattern = found
    return int(getattr(lib, pattern % "get_num_threads")())


def set_blas_threads(count: int) -> bool:
    found = _openblas()
    if found is None:
        return False
    lib, pattern = found
    getattr(lib, pattern % "set_num_threads")(ctypes.c_int(count))
    return True


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    blas = "unknown BLAS"
    with contextlib.suppress(Exception):
        config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]  # type: ignore[index]
        blas = f"{config['name']} {config.get('version', '')}".strip()
    threads = blas_threads()
    versions = []
    for package in ("pymilvus", "milvus_lite"):
        with contextlib.suppress(Exception):
            module = __import__(package)
            versions.append(f"{package} {getattr(module, '__version__', '?')}")
    return (
        f"machine: {cpu}, {cores} cores, {_total_ram()}; numpy {np.__version__} with {blas}"
        f" ({threads if threads is not None else '?'} BLAS threads); Python {platform.python_version()}; "
        + ", ".join(versions)
    )


def _total_ram() -> str:
    with contextlib.suppress(OSError, ValueError), open("/proc/meminfo") as info:
        for line in info:
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 2**20:.0f} GiB RAM"
    return "? RAM"


# ---- memory and disk ------------------------------------------------------------------------------------
def rss() -> int | None:
    """Resident set size of this process in bytes, after dropping garbage (None where unknown)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # give freed heap back so deltas mean what is kept
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


def _per_page_kb(delta: int | None, pages: int) -> float | None:
    return None if delta is None else max(delta, 0) / pages / 1024


# ---- scoring and metrics --------------------------------------------------------------------------------
def exact_scores(vectors: np.ndarray, query: np.ndarray, block: int = 256) -> np.ndarray:
    """float32 MaxSim of `query` (q, d) against every page of `vectors` (pages, n, d)."""
    pages, n, d = vectors.shape
    q = np.ascontiguousarray(query, dtype=np.float32)
    out = np.empty(pages, dtype=np.float32)
    for start in range(0, pages, block):
        chunk = vectors[start : start + block]
        sims = q @ chunk.reshape(-1, d).T  # (q, b*n): the long axis last, so the max below is contiguous
        out[start : start + len(chunk)] = sims.reshape(len(q), len(chunk), n).max(axis=2).sum(axis=0)
    return out


def top_k(scores: np.ndarray, k: int) -> list[int]:
    """Indices of the k best scores, ties by index (stable)."""
    order = np.lexsort((np.arange(len(scores)), -scores))
    return [int(i) for i in order[:k]]


def recall_at_k(ranked: Sequence[int], reference: Sequence[int], k: int = K) -> float:
    want = list(reference)[:k]
    return len(set(ranked[:k]) & set(want)) / len(want) if want else 1.0


def ndcg_at_k(ranked: Sequence[int], reference: Sequence[int], k: int = K) -> float:
    """nDCG@k with graded gains from the reference ranking: its i-th page (0-based) gains k - i, others 0."""
    want = list(reference)[:k]
    gain = {page: k - i for i, page in enumerate(want)}
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = sum(gain.get(page, 0) * discounts[i] for i, page in enumerate(ranked[:k]))
    ideal = sum(gain[page] * discounts[i] for i, page in enumerate(want))
    return float(dcg / ideal) if ideal else 1.0


# ---- rows -----------------------------------------------------------------------------------------------
@dataclass
class Row:
    method: str
    pages: int
    build_s: float | None = None
    store_pages_s: float | None = None
    disk_kb: float | None = None
    ram_kb: float | None = None
    latencies: list[float] = field(default_factory=list)
    recalls: list[float] = field(default_factory=list)
    ndcgs: list[float] = field(default_factory=list)

    def add(self, seconds: float, ranked: Sequence[int], reference: Sequence[int]) -> None:
        self.latencies.append(seconds)
        self.recalls.append(recall_at_k(ranked, reference))
        self.ndcgs.append(ndcg_at_k(ranked, reference))

    @property
    def p50_ms(self) -> float:
        return float(np.percentile(self.latencies, 50) * 1000) if self.latencies else float("nan")

    @property
    def p95_ms(self) -> float:
        return float(np.percentile(self.latencies, 95) * 1000) if self.latencies else float("nan")

    @property
    def recall(self) -> float:
        return float(np.mean(self.recalls)) if self.recalls else float("nan")

    @property
    def ndcg(self) -> float:
        return float(np.mean(self.ndcgs)) if self.ndcgs else float("nan")


@dataclass
class SizeResult:
    pages: int
    rows: list[Row] = field(default_factory=list)
    phases: list[tuple[str, str, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    max_score_diff: float = 0.0
    seconds: float = 0.0

    def row(self, method: str) -> Row:
        return next(r for r in self.rows if r.method == method)


COLUMNS = (
    "method",
    "pages",
    "build time (s)",
    "store pages/s",
    "disk per page (KB)",
    "RAM per page (KB)",
    "query p50 (ms)",
    "query p95 (ms)",
    "recall@10 vs exact",
    "nDCG@10 vs exact",
    "queries",
)


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    return f"{value:,.{digits}f}"


def format_table(rows: Sequence[Row]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join(["---"] + ["---:"] * (len(COLUMNS) - 1)) + "|"]
    for r in rows:
        cells = [
            r.method,
            f"{r.pages:,}",
            _fmt(r.build_s),
            _fmt(r.store_pages_s),
            _fmt(r.disk_kb, 0),
            _fmt(r.ram_kb, 0),
            _fmt(r.p50_ms),
            _fmt(r.p95_ms),
            _fmt(r.recall, 3),
            _fmt(r.ndcg, 3),
            str(len(r.latencies)),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_result(result: SizeResult, header: str) -> str:
    parts = [header, "", format_table(result.rows), "", "Phases (s):", ""]
    parts += [f"- {method}: {phase} {seconds:.2f}" for method, phase, seconds in result.phases]
    parts += ["", "Checks:", ""] + [f"- {note}" for note in result.notes]
    return "\n".join(parts) + "\n"


# ---- the runs -------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _maybe_profile(enabled: bool, target: Path) -> Iterator[None]:
    if not enabled:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(out.getvalue())
        log(f"profile written to {target}")


def _pagelens_queries(
    index: Any,
    corpus: SyntheticCorpus,
    queries: np.ndarray,
    reference: list[list[int]],
    row: Row,
    vectors16: Any,
    *,
    exact: bool = False,
) -> tuple[float, list[list[int]]]:
    """Time `search_embedding` for each query into `row`. Returns the max |score - float32 MaxSim on the
    bfloat16-rounded vectors| over all hits, and each query's ranking (corpus page indices)."""
    worst = 0.0
    rankings: list[list[int]] = []
    for q, query in enumerate(queries):
        started = time.perf_counter()
        hits = index.search_embedding(query, k=K, exact=exact)
        elapsed = time.perf_counter() - started
        ranked = [corpus.index_of(h.path, h.page) for h in hits]
        row.add(elapsed, ranked, reference[q])
        rankings.append(ranked)
        for hit, page in zip(hits, ranked, strict=True):
            expected = float(exact_scores(vectors16(page)[None], query)[0])
            worst = max(worst, abs(float(hit.score) - expected))
    return worst, rankings


_FRESH_OPEN = """
import json, resource, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
import search_bench as sb
import pagelens
if int(sys.argv[4]) > 0:
    sb.set_blas_threads(int(sys.argv[4]))
query = np.load(sys.argv[3])
before = sb.rss()
t0 = time.perf_counter()
index = pagelens.open(sys.argv[2])
t1 = time.perf_counter()
index.refresh()
t2 = time.perf_counter()
index.search_embedding(query, k=10)
t3 = time.perf_counter()
after = sb.rss()
index.close()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"open": t1 - t0, "refresh": t2 - t1, "query": t3 - t2, "delta": after - before,
                  "peak": peak, "baseline": before}))
"""


def fresh_open(folder: Path, query: np.ndarray, threads: int | None) -> dict[str, Any]:
    """Open `folder` in a fresh Python process (open + refresh + one query): the memory a serving process
    holds, free of this process' allocator history. {"error": why} if the child fails."""
    import json
    import subprocess

    query_file = folder.parent / f"{folder.name}-query.npy"
    np.save(query_file, query)
    try:
        done = subprocess.run(
            [sys.executable, "-c", _FRESH_OPEN, str(HERE), str(folder), str(query_file), str(threads or 0)],
            capture_output=True,
            text=True,
            timeout=1800,
        )
    finally:
        query_file.unlink(missing_ok=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        log(f"fresh-process open failed ({done.returncode}): {done.stderr[-500:]}")
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {done.returncode}: {last[:300]}"}
    return json.loads(lines[-1])


def run_size(
    pages: int,
    *,
    queries: int = 50,
    candidates: Sequence[int] = (50, 100, 200, 400),
    tutorial: bool = False,
    tutorial_queries: int = 10,
    exact_queries: int = 10,
    workdir: Path,
    seed: int = 0,
    batch_pages: int = 256,
    profile: bool = False,
) -> SizeResult:
    """All rows for one corpus size."""
    import pagelens

    started = time.perf_counter()
    result = SizeResult(pages)
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    corpus = SyntheticCorpus(pages, seed=seed)
    query_vectors, targets = corpus.queries(queries, seed=seed + 1)

    # ---- exact brute force: float32 vectors in RAM, the reference ----------------------------------------
    log(f"{pages:,} pages: generating the synthetic corpus into RAM (float32)")
    before = rss()
    timer = time.perf_counter()
    vectors = corpus.fill()
    result.phases.append(("synthetic", "generate into RAM", time.perf_counter() - timer))
    after = rss()
    exact_row = Row(
        "exact brute force",
        pages,
        ram_kb=_per_page_kb(None if before is None or after is None else after - before, pages),
    )
    reference: list[list[int]] = []
    reference_scores: list[np.ndarray] = []
    for q, query in enumerate(query_vectors):
        timer = time.perf_counter()
        scores = exact_scores(vectors, query)
        ranked = top_k(scores, K)
        elapsed = time.perf_counter() - timer
        reference.append(ranked)
        reference_scores.append(scores)
        exact_row.add(elapsed, ranked, ranked)
        if q == 0:
            log(f"{pages:,} pages: exact brute force {elapsed * 1000:.0f} ms/query")
    result.rows.append(exact_row)
    top1 = np.mean([reference[q][0] == targets[q] for q in range(queries)])
    result.notes.append(f"synthetic queries whose target page is the exact top-1: {top1:.0%}")

    # The float32 corpus is dropped before pagelens builds (5.3 GB at 10,000 pages; pagelens and Milvus Lite
    # need the RAM). Kept: bfloat16-rounded copies of each query's exact top-50 pages, for the score checks;
    # any other page a search returns is regenerated (deterministic). pagelens gets the original float32
    # vectors, regenerated block by block outside its timed calls.
    kept = sorted({p for scores in reference_scores for p in top_k(scores, 50)})
    rounded16 = {p: bfloat16.encode(vectors[p]) for p in kept}
    del vectors
    rss()

    def vectors16(page: int) -> np.ndarray:
        if page not in rounded16:
            rounded16[page] = bfloat16.encode(corpus.page(page)[0])
        return bfloat16.decode(rounded16[page])

    # ---- pagelens: build, default search, exact=True ----------------------------------------------------
    folder = workdir / f"pagelens-{pages}"
    shutil.rmtree(folder, ignore_errors=True)
    before = rss()
    timer = time.perf_counter()
    index = pagelens.open(folder)
    open_s = time.perf_counter() - timer
    add_s = 0.0
    done = 0
    next_report = 0.0
    for batch in corpus.records(batch_pages):
        timer = time.perf_counter()
        index.add_embeddings(batch)
        add_s += time.perf_counter() - timer
        done += len(batch)
        if done / pages >= next_report or done == pages:
            log(f"{pages:,} pages: pagelens add_embeddings {done:,}/{pages:,} ({done / add_s:.1f} pages/s)")
            next_report += 0.1
    timer = time.perf_counter()
    index.refresh()
    refresh_s = time.perf_counter() - timer
    timer = time.perf_counter()
    index.search_embedding(query_vectors[0], k=K)
    first_s = time.perf_counter() - timer
    result.phases += [
        ("pagelens", "open", open_s),
        ("pagelens", "add_embeddings", add_s),
        ("pagelens", "refresh (catalog + cache sync)", refresh_s),
        ("pagelens", "first query", first_s),
    ]
    row = Row("pagelens", pages, build_s=open_s + add_s + refresh_s, store_pages_s=pages / add_s)
    log(f"{pages:,} pages: pagelens built in {row.build_s:.1f} s; {queries} queries")
    with _maybe_profile(profile, RESULTS / f"profile-search-{pages}.txt"):
        worst, _ = _pagelens_queries(index, corpus, query_vectors, reference, row, vectors16)
    result.max_score_diff = max(result.max_score_diff, worst)
    after = rss()
    row.ram_kb = _per_page_kb(None if before is None or after is None else after - before, pages)
    result.rows.append(row)

    exact_n = max(1, min(exact_queries, queries))
    log(f"{pages:,} pages: pagelens exact=True, {exact_n} queries")
    exact_pl = Row("pagelens exact=True", pages)
    worst, exact_rankings = _pagelens_queries(
        index, corpus, query_vectors[:exact_n], reference, exact_pl, vectors16, exact=True
    )
    result.max_score_diff = max(result.max_score_diff, worst)
    result.rows.append(exact_pl)
    # exact=True vs a reference on the bfloat16-rounded vectors (pagelens' stored precision): near-tied pages
    # may swap under rounding, which is not a retrieval error. The bfloat16 top-k lies within the float32
    # top-50 (rounding moves a score by ~1e-5), so only those are rescored.
    reference16: list[list[int]] = []
    for q in range(exact_n):
        pool = top_k(reference_scores[q], 50)
        rescored = np.array([exact_scores(vectors16(p)[None], query_vectors[q])[0] for p in pool])
        reference16.append([pool[i] for i in np.lexsort((np.array(pool), -rescored))[:K]])
    recall16 = np.mean([recall_at_k(r, f) for r, f in zip(exact_rankings, reference16, strict=True)])
    result.notes.append(
        f"pagelens exact=True recall@{K} vs float32 exact: {exact_pl.recall:.3f}; "
        f"vs exact MaxSim on the bfloat16-rounded vectors: {recall16:.3f}"
    )
    timer = time.perf_counter()
    index.close()
    result.phases.append(("pagelens", "close", time.perf_counter() - timer))
    disk = disk_usage(folder)
    row.disk_kb = disk / pages / 1024
    exact_pl.disk_kb, exact_pl.ram_kb = row.disk_kb, row.ram_kb

    # ---- pagelens reopened with other candidate counts --------------------------------------------------
    fresh = fresh_open(folder, query_vectors[0], blas_threads()) if candidates else None
    if fresh is not None and "error" in fresh:
        result.notes.append(f"pagelens reopened in a fresh process FAILED ({fresh['error']}): no RAM figure")
        fresh = None
    if fresh is not None:
        result.phases.append(("pagelens, fresh process", "open", fresh["open"]))
        result.phases.append(("pagelens, fresh process", "refresh", fresh["refresh"]))
        result.phases.append(("pagelens, fresh process", "first query", fresh["query"]))
        result.notes.append(
            f"pagelens reopened in a fresh process (open + refresh + 1 query): RSS +{fresh['delta'] / 2**20:,.0f} "
            f"MiB ({fresh['delta'] / pages / 1024:,.0f} KB/page; the RAM column of the candidates rows), "
            f"peak RSS {fresh['peak'] / 2**30:.2f} GiB (process baseline {fresh['baseline'] / 2**20:,.0f} MiB)"
        )
    for count in candidates:
        timer = time.perf_counter()
        index = pagelens.open(folder, candidates=count)
        open_s = time.perf_counter() - timer
        timer = time.perf_counter()
        index.refresh()
        refresh_s = time.perf_counter() - timer
        timer = time.perf_counter()
        index.search_embedding(query_vectors[0], k=K)
        first_s = time.perf_counter() - timer
        result.phases.append(
            (f"pagelens candidates={count}", "reopen + refresh + first query", open_s + refresh_s + first_s)
        )
        variant = Row(f"pagelens candidates={count}", pages, disk_kb=row.disk_kb)
        variant.ram_kb = None if fresh is None else _per_page_kb(int(fresh["delta"]), pages)
        worst, _ = _pagelens_queries(index, corpus, query_vectors, reference, variant, vectors16)
        result.max_score_diff = max(result.max_score_diff, worst)
        index.close()
        result.rows.append(variant)
        log(
            f"{pages:,} pages: pagelens candidates={count}: p50 {variant.p50_ms:.0f} ms, recall {variant.recall:.3f}"
        )
    ok = "OK" if result.max_score_diff <= SCORE_TOLERANCE else "FAIL"
    result.notes.append(
        f"max |pagelens score - float32 MaxSim on the bfloat16-rounded vectors| over all hits: "
        f"{result.max_score_diff:.2e} (<= {SCORE_TOLERANCE:g}: {ok})"
    )
    found = np.mean([targets[q] in reference[q] for q in range(queries)])
    result.notes.append(f"target page in the exact top-{K}: {found:.0%}")

    # ---- the Milvus tutorial's retriever ---------------------------------------------------------------
    if tutorial:
        result.rows.append(_run_tutorial(corpus, query_vectors, reference, tutorial_queries, workdir, result))

    result.notes.append(f"numpy BLAS threads at the end of this size: {blas_threads()}")
    if load_before is not None:
        load_after = os.getloadavg()
        result.notes.append(
            f"1-minute load average at start / end: {load_before[0]:.2f} / {load_after[0]:.2f} "
            f"on {os.cpu_count()} cores (above ~1, other processes shared the CPU and timings are noisier)"
        )
    result.seconds = time.perf_counter() - started
    result.phases.append(("all", "this size, total", result.seconds))
    return result


def _run_tutorial(
    corpus: SyntheticCorpus,
    query_vectors: np.ndarray,
    reference: list[list[int]],
    tutorial_queries: int,
    workdir: Path,
    result: SizeResult,
) -> Row:
    pages = corpus.pages
    vectors = corpus.fill()  # the original float32 vectors again (the tutorial stores float32)
    folder = workdir / f"tutorial-{pages}"
    shutil.rmtree(folder, ignore_errors=True)
    log(f"{pages:,} pages: milvus tutorial: create + {pages} inserts (one per page)")
    before = rss()
    timer = time.perf_counter()
    retriever = TutorialRetriever.open(folder, dim=corpus.dim)
    retriever.create_collection()
    retriever.create_index()
    create_s = time.perf_counter() - timer
    timer = time.perf_counter()
    for i in range(pages):
        info = corpus.layout[i]
        retriever.insert(
            {"colbert_vecs": vectors[i], "doc_id": i, "filepath": f"{info.path}#page={info.page}"}
        )
    insert_s = time.perf_counter() - timer
    timer = time.perf_counter()
    retriever.flush()
    flush_s = time.perf_counter() - timer
    timer = time.perf_counter()
    retriever.search(query_vectors[0], K)
    first_s = time.perf_counter() - timer
    result.phases += [
        ("milvus tutorial", "create collection + HNSW index", create_s),
        ("milvus tutorial", "insert (one call per page)", insert_s),
        ("milvus tutorial", "flush (seal + build HNSW)", flush_s),
        ("milvus tutorial", "first query", first_s),
    ]
    row = Row("milvus tutorial", pages, build_s=create_s + insert_s + flush_s, store_pages_s=pages / insert_s)
    count = max(1, min(tutorial_queries, len(query_vectors)))
    log(
        f"{pages:,} pages: milvus tutorial built in {row.build_s:.1f} s; {count} queries (first took {first_s:.1f} s)"
    )
    for q in range(count):
        timer = time.perf_counter()
        found = retriever.search(query_vectors[q], K)
        elapsed = time.perf_counter() - timer
        row.add(elapsed, [int(doc_id) for _, doc_id in found], reference[q])
    after = rss()
    row.ram_kb = _per_page_kb(None if before is None or after is None else after - before, pages)
    retriever.close()
    row.disk_kb = disk_usage(folder) / pages / 1024
    log(f"{pages:,} pages: milvus tutorial p50 {row.p50_ms:.0f} ms, recall {row.recall:.3f}")
    return row


# ---- command line ---------------------------------------------------------------------------------------
def _ints(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--pages", type=_ints, default=[1000, 10000], help="corpus sizes (default 1000,10000)"
    )
    parser.add_argument("--queries", type=int, default=50, help="queries per size (default 50)")
    parser.add_argument("--tutorial-pages", type=int, default=100, help="size the tutorial runs at; 0: skip")
    parser.add_argument(
        "--tutorial-queries", type=int, default=10, help="queries for the tutorial (~15 s each)"
    )
    parser.add_argument("--exact-queries", type=int, default=10, help="queries for pagelens exact=True")
    parser.add_argument(
        "--candidates", type=_ints, default=[50, 100, 200, 400], help="reopened candidate counts"
    )
    parser.add_argument(
        "--blas-threads", type=int, default=1, help="OpenBLAS threads (default 1; 0: leave as is)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-pages", type=int, default=256, help="pages per add_embeddings call")
    parser.add_argument("--workdir", type=Path, default=None, help="index folders (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the index folders")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile pagelens queries into bench/results/"
    )
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results/search-*.md")
    args = parser.parse_args(argv)

    import pymilvus  # noqa: F401

    import pagelens  # noqa: F401 - imported before any memory is measured, so no row pays for imports

    library_threads = blas_threads()
    if args.blas_threads > 0 and not set_blas_threads(args.blas_threads):
        log("could not set the BLAS thread count (numpy does not use OpenBLAS here)")
    header = machine()
    if args.blas_threads > 0:
        header += f" [--blas-threads {args.blas_threads}; library default {library_threads}]"
    print(header, flush=True)
    sizes = sorted(set(args.pages) | ({args.tutorial_pages} if args.tutorial_pages > 0 else set()))
    command = "python bench/search_bench.py " + " ".join(sys.argv[1:] if argv is None else argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="pagelens-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        for pages in sizes:
            result = run_size(
                pages,
                queries=args.queries,
                candidates=args.candidates,
                tutorial=pages == args.tutorial_pages,
                tutorial_queries=args.tutorial_queries,
                exact_queries=args.exact_queries,
                workdir=workdir,
                seed=args.seed,
                batch_pages=args.batch_pages,
                profile=args.profile,
            )
            text = format_result(result, f"## {pages:,} pages\n\n{header}\n\ncommand: `{command.strip()}`")
            print("\n" + text, flush=True)
            if not args.no_write:
                RESULTS.mkdir(parents=True, exist_ok=True)
                (RESULTS / f"search-{pages}.md").write_text(text)
    finally:
        if not args.keep:
            for pages in sizes:
                shutil.rmtree(workdir / f"pagelens-{pages}", ignore_errors=True)
                shutil.rmtree(workdir / f"tutorial-{pages}", ignore_errors=True)
            if args.workdir is None:
                shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"index folders kept in {workdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
