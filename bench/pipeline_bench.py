"""Indexing throughput per model family: model-only pages/s at batch sizes 1/2/4/8, and end to end (render in
a worker process -> embed -> store, `Index.add`) at the batch size pagelens picks by default.

    .venv/bin/python bench/pipeline_bench.py --rows tiny:colqwen2,full:colmodernvbert --pages 2
    .venv/bin/python bench/pipeline_bench.py --rows full:colqwen2_5,full:colqwen3 --device cuda --pages 64
    .venv/bin/python bench/pipeline_bench.py --model PATH --device cuda      # a real checkpoint
    nice .venv/bin/python bench/pipeline_bench.py --rows full:colqwen2_5 --dtype bfloat16 --pages 1 \
        --batch-sizes 1 --max-rss-gib 10                                     # a 3-4B model on a small CPU box

Rows: `count:FAMILY` only counts a full-size model's parameters (no build); `tiny:FAMILY` is the offline tiny random model of the tests (pagelens' own overhead: the model is nearly
free), `full:FAMILY` a model with the family's full-size config and random weights (bench/full_size.py: the
real compute per page without downloading weights). Pages are generated samples (pagelens.samples), rendered
at the side the family's processor wants. `--dtype` sets the weights' and activations' dtype (default: what
pagelens uses, float32 on CPU, bfloat16 on a GPU; bfloat16 on a CPU with AMX/AVX-512 BF16 is both half the
memory and several times faster). A full-size row whose weights in that dtype would not fit in half of the
memory available, or in `--max-rss-gib`, is not built; the table gives its parameter count instead. While
rows run, a watchdog stops the process if its resident memory passes `--max-rss-gib` (0: no limit). Search
latency is measured by bench/search_bench.py, not here.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import peak_rss  # noqa: E402

DEFAULT_ROWS = "tiny:colqwen2,tiny:colpali,tiny:colmodernvbert,full:colmodernvbert"


@dataclass
class Row:
    name: str
    note: str = ""
    params: int | None = None
    tokens: float | None = None
    default_batch: int | None = None
    model_only: dict[int, float] = field(default_factory=dict)  # batch size -> pages/s
    cpu_per_page: float | None = None  # process CPU seconds a page, model-only at the first batch size
    pipeline: float | None = None  # pages/s end to end at default_batch
    pages: int = 0
    dtype: str = ""
    seconds: float | None = None  # wall time of the whole row (build + measure)
    peak_rss: int | None = None  # the process' resident high-water mark after the row (bytes)


def machine_line(device: str, dtype: str = "auto") -> str:
    cpu = platform.processor() or platform.machine()
    mem = _meminfo("MemTotal")
    kind = "CPU only, no GPU used" if device == "cpu" else f"device {device}"
    kinds = "float32 on CPU, bfloat16 on a GPU (pagelens' default)" if dtype == "auto" else dtype
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem / 2**30:.0f} GiB RAM ({_meminfo('MemAvailable') / 2**30:.0f} "
        f"GiB available at start); {kind}; torch {kinds}; load average at the start {load}"
    )


def resolve_dtype(name: str, device: str) -> Any:
    """The torch dtype `--dtype` names; "auto" is pagelens' own choice for `device`."""
    import torch

    from pagelens.embed.device import default_dtype

    if name == "auto":
        return default_dtype(device)
    dtypes = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if name not in dtypes:
        raise SystemExit(f"--dtype {name!r}: use auto, {', '.join(dtypes)}")
    return dtypes[name]


def _rss() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def start_rss_watchdog(limit_gib: float, interval: float = 0.5) -> None:
    """Exit the process (status 3) as soon as its resident memory passes `limit_gib` (a shared machine)."""
    if limit_gib <= 0:
        return

    def watch() -> None:
        while True:
            rss = _rss()
            if rss > limit_gib * 2**30:
                print(
                    f"pipeline_bench: resident memory {rss / 2**30:.1f} GiB passed --max-rss-gib {limit_gib}; "
                    "stopping",
                    file=sys.stderr,
                    flush=True,
                )
                os._exit(3)
            time.sleep(interval)

    threading.Thread(target=watch, name="rss-watchdog", daemon=True).start()


def _meminfo(key: str) -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def sample_pdf(folder: Path, pages: int) -> Path:
    """A PDF of the first `pages` pages of the generated sample PDFs (pagelens.samples)."""
    import pypdfium2

    from pagelens.samples import write_samples

    samples = folder / "samples"
    pdfs = sorted(p for p in write_samples(samples) if p.suffix == ".pdf")
    out = pypdfium2.PdfDocument.new()
    for pdf in pdfs:
        source = pypdfium2.PdfDocument(str(pdf))
        take = min(len(source), pages - len(out))
        if take > 0:
            out.import_pages(source, list(range(take)))
    target = folder / "docs" / "pages.pdf"
    target.parent.mkdir(parents=True, exist_ok=True)
    out.save(str(target))
    return target


def check_fits(params: int, dtype: Any, max_rss_gib: float = 0.0) -> None:
    """`MemoryError` if `params` weights in `dtype` exceed half the memory available (or `max_rss_gib`)."""
    import torch

    size = params * torch.empty((), dtype=dtype).element_size()
    name = str(dtype).removeprefix("torch.")
    available = _meminfo("MemAvailable")
    if available and size > available / 2:
        raise MemoryError(
            f"{params / 1e9:.2f}B parameters: {size / 2**30:.1f} GiB in {name}, more than half the "
            f"{available / 2**30:.0f} GiB available here"
        )
    if max_rss_gib > 0 and size > 0.9 * max_rss_gib * 2**30:
        raise MemoryError(
            f"{params / 1e9:.2f}B parameters: {size / 2**30:.1f} GiB in {name}, too close to --max-rss-gib "
            f"{max_rss_gib} for the activations"
        )


def full_size_embedder(family: str, device: str, dtype: Any, max_rss_gib: float = 0.0) -> tuple[Any, int]:
    """A TorchEmbedder around a full-size random-weight model of `family` in `dtype`, and its parameter count."""

    import full_size
    from pagelens.embed.base import image_side_for, model_dim
    from pagelens.embed.batching import default_batch_size
    from pagelens.embed.device import resolve_device
    from pagelens.embed.registry import BACKENDS, import_object

    parts = full_size.BUILDERS[family]()
    params = full_size.parameter_count(parts)
    check_fits(params, dtype, max_rss_gib)
    resolved = resolve_device(device)
    model = full_size.build(parts, dtype=dtype).to(resolved)
    spec = BACKENDS[family]
    embedder = import_object(spec.embedder)(
        model_id=f"full-size random {family}",
        spec=spec,
        model=model,
        processor=parts.processor,
        device=resolved,
        dtype=dtype,
        batch_size=default_batch_size(resolved, family),
        dim=model_dim(model),
        image_side=image_side_for(spec.image_side_rule, parts.processor.image_processor),
    )
    return embedder, params


def load_row(
    kind: str, family: str, device: str, work: Path, dtype: Any, max_rss_gib: float = 0.0
) -> tuple[Any, int | None]:
    from pagelens.embed import load_embedder

    if kind == "full":
        return full_size_embedder(family, device, dtype, max_rss_gib)
    if kind == "count":
        raise LookupError("parameters counted only; not run in this session (CPU time)")
    if kind == "tiny":
        from pagelens.testing.tiny_models import build_tiny_model

        folder = build_tiny_model(family, work / f"tiny-{family}")
        embedder = load_embedder(str(folder), device=device)
    else:
        embedder = load_embedder(family, device=device)
    if embedder.dtype != dtype:  # pagelens loads in its default dtype; the bench may ask for another
        embedder.model.to(dtype)
        embedder.dtype = dtype
    return embedder, None


def measure(row: Row, embedder: Any, pdf: Path, batch_sizes: list[int], work: Path) -> None:
    import statistics

    import pagelens
    from pagelens.sources import Document, iter_pages

    images = [p.image for p in iter_pages(Document.from_path(pdf), embedder.image_side)]
    row.pages = len(images)
    embedder.embed_images(images[:1])  # warm-up
    for batch in batch_sizes:
        if batch > len(images) and batch != batch_sizes[0]:
            continue
        started, cpu = time.perf_counter(), time.process_time()
        vectors = []
        for i in range(0, len(images), batch):
            embedder.batch_size = batch
            vectors += embedder.embed_images(images[i : i + batch])
        row.model_only[batch] = len(images) / (time.perf_counter() - started)
        if row.cpu_per_page is None:  # CPU time is steadier than wall time on a shared machine
            row.cpu_per_page = (time.process_time() - cpu) / len(images)
        row.tokens = statistics.mean(len(v) for v in vectors)
    embedder.batch_size = row.default_batch
    with pagelens.open(work / f"index-{row.name.replace(':', '-')}", embedder=embedder) as index:
        started = time.perf_counter()
        report = index.add([pdf], progress=False)
        row.pipeline = report.pages_added / (time.perf_counter() - started)


def print_table(rows: list[Row], batch_sizes: list[int], machine: str) -> None:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {machine}; load average at the end {load}")
    print("pages: generated samples (pagelens.samples); weights: random (speed only, no retrieval quality)")
    print()
    heads = " | ".join(f"model-only b={b}" for b in batch_sizes)
    print(
        f"| row | dtype | parameters | vectors/page | default batch | {heads} | end to end (pages/s) | pages "
        "| model CPU s/page | row wall time | peak RSS |"
    )
    print("|---|---|---:|---:|---:|" + "---:|" * len(batch_sizes) + "---:|---:|---:|---:|---:|")
    for row in rows:
        params = f"{row.params / 1e9:.2f}B" if row.params else ("tiny" if row.name.startswith("tiny") else "")
        if row.note:
            print(
                f"| {row.name} | {row.dtype} | {params} | | | "
                + " | ".join("" for _ in batch_sizes)
                + f" | {row.note} | | | | |"
            )
            continue
        cells = " | ".join(f"{row.model_only[b]:.3g}" if b in row.model_only else "" for b in batch_sizes)
        pipeline = f"{row.pipeline:.3g}" if row.pipeline is not None else ""
        tokens = f"{row.tokens:.0f}" if row.tokens is not None else ""
        wall = f"{row.seconds:.0f} s" if row.seconds is not None else ""
        rss = f"{row.peak_rss / 2**30:.1f} GiB" if row.peak_rss else ""
        cpu = f"{row.cpu_per_page:.0f}" if row.cpu_per_page is not None else ""
        print(
            f"| {row.name} | {row.dtype} | {params} | {tokens} | {row.default_batch} | {cells} | {pipeline} "
            f"| {row.pages} | {cpu} | {wall} | {rss} |"
        )
    print()
    print("pages/s, higher is better; model-only = forward passes on pre-rendered pages (the ceiling);")
    print("end to end = Index.add on a PDF of those pages (worker rendering + model + background store);")
    print("model CPU s/page = process CPU time (all threads) per page, model-only at the first batch size:")
    print("steadier than pages/s when other processes share the cores; peak RSS = this process' resident")
    print("high-water mark after the row (cumulative over its rows).")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", default=DEFAULT_ROWS, help="comma-separated tiny:FAMILY / full:FAMILY")
    parser.add_argument("--model", default=None, help="a checkpoint folder or hub name instead of --rows")
    parser.add_argument("--pages", type=int, default=4, help="pages per full-size row (few on a CPU)")
    parser.add_argument("--tiny-pages", type=int, default=16, help="pages per tiny-model row")
    parser.add_argument("--batch-sizes", default="1,2,4,8")
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--dtype", default="auto", help="auto (pagelens' default: float32 on CPU), float32, bfloat16, float16"
    )
    parser.add_argument(
        "--max-rss-gib", type=float, default=0.0, help="stop if this process' RSS passes it (0: no limit)"
    )
    args = parser.parse_args()

    from pagelens.embed.batching import default_batch_size
    from pagelens.embed.device import resolve_device
    from pagelens.embed.torchvision_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    dtype_name = str(dtype).removeprefix("torch.")
    start_rss_watchdog(args.max_rss_gib)
    machine = machine_line(device, args.dtype)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    specs = [("model", args.model)] if args.model else [tuple(r.split(":", 1)) for r in args.rows.split(",")]
    work = Path(tempfile.mkdtemp(prefix="pagelens-pipeline-"))
    rows: list[Row] = []
    try:
        pdfs = {n: sample_pdf(work / f"pages-{n}", n) for n in {args.pages, args.tiny_pages}}
        for kind, family in specs:
            pdf = pdfs[args.tiny_pages if kind == "tiny" else args.pages]
            row = Row(f"{kind}:{family}", dtype=dtype_name)
            rows.append(row)
            started = time.perf_counter()
            try:
                embedder, row.params = load_row(kind, family, device, work, dtype, args.max_rss_gib)
            except (MemoryError, KeyError, LookupError, ImportError) as exc:
                row.note = f"not built here: {exc}"
                _note_params(row, kind, family)
                print(f"{row.name}: {row.note}", file=sys.stderr)
                continue
            backend = getattr(embedder, "backend", family)
            row.default_batch = default_batch_size(device, backend)
            print(f"{row.name}: built in {time.perf_counter() - started:.0f}s; measuring", file=sys.stderr)
            measure(row, embedder, pdf, batch_sizes, work)
            row.seconds = time.perf_counter() - started
            row.peak_rss = peak_rss()
            print(f"{row.name}: {row}", file=sys.stderr)
            del embedder
        print_table(rows, batch_sizes, machine)
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _note_params(row: Row, kind: str, family: str) -> None:
    if kind not in ("full", "count"):
        return
    import full_size

    if family in full_size.NOT_ENTERED:
        row.note = full_size.NOT_ENTERED[family]
    elif family in full_size.BUILDERS and row.params is None:
        with contextlib.suppress(Exception):  # the count is a courtesy; the note already says why
            row.params = full_size.parameter_count(full_size.BUILDERS[family]())


if __name__ == "__main__":
    sys.exit(main())
