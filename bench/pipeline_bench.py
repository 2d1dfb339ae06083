"""Indexing throughput per model family: model-only pages/s at batch sizes 1/2/4/8, and end to end (render in
a worker process -> embed -> store, `Index.add`) at the batch size pagelens picks by default.

    .venv/bin/python bench/pipeline_bench.py --rows tiny:colqwen2,full:colmodernvbert --pages 2
    .venv/bin/python bench/pipeline_bench.py --rows full:colqwen2_5,full:colqwen3 --device cuda --pages 64
    .venv/bin/python bench/pipeline_bench.py --model PATH --device cuda      # a real checkpoint

Rows: `count:FAMILY` only counts a full-size model's parameters (no build); `tiny:FAMILY` is the offline tiny random model of the tests (pagelens' own overhead: the model is nearly
free), `full:FAMILY` a model with the family's full-size config and random weights (bench/full_size.py: the
real compute per page without downloading weights). Pages are generated samples (pagelens.samples), rendered
at the side the family's processor wants. A full-size row whose float32 weights would not fit in half of the
memory available is not built; the table gives its parameter count instead. Search latency is measured by
bench/search_bench.py, not here.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

DEFAULT_ROWS = "tiny:colqwen2,tiny:colpali,tiny:colmodernvbert,full:colmodernvbert"


@dataclass
class Row:
    name: str
    note: str = ""
    params: int | None = None
    tokens: float | None = None
    default_batch: int | None = None
    model_only: dict[int, float] = field(default_factory=dict)  # batch size -> pages/s
    pipeline: float | None = None  # pages/s end to end at default_batch
    pages: int = 0


def machine_line(device: str) -> str:
    cpu = platform.processor() or platform.machine()
    mem = _meminfo("MemTotal")
    kind = "CPU only, no GPU used" if device == "cpu" else f"device {device}"
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem / 2**30:.0f} GiB RAM ({_meminfo('MemAvailable') / 2**30:.0f} "
        f"GiB available at start); {kind}; torch float32 on CPU, bfloat16 on a GPU"
    )


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


def full_size_embedder(family: str, device: str) -> tuple[Any, int]:
    """A TorchEmbedder around a full-size random-weight model of `family`, and its parameter count."""

    import full_size
    from pagelens.embed.base import image_side_for, model_dim
    from pagelens.embed.batching import default_batch_size
    from pagelens.embed.device import default_dtype, resolve_device
    from pagelens.embed.registry import BACKENDS, import_object

    parts = full_size.BUILDERS[family]()
    params = full_size.parameter_count(parts)
    available = _meminfo("MemAvailable")
    if available and params * 4 > available / 2:
        raise MemoryError(
            f"{params / 1e9:.2f}B parameters: {params * 4 / 2**30:.1f} GiB in float32, more than half the "
            f"{available / 2**30:.0f} GiB available here"
        )
    resolved = resolve_device(device)
    dtype = default_dtype(resolved)
    model = full_size.build(parts).to(resolved, dtype)
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


def load_row(kind: str, family: str, device: str, work: Path) -> tuple[Any, int | None]:
    from pagelens.embed import load_embedder

    if kind == "tiny":
        from pagelens.testing.tiny_models import build_tiny_model

        folder = build_tiny_model(family, work / f"tiny-{family}")
        return load_embedder(str(folder), device=device), None
    if kind == "full":
        return full_size_embedder(family, device)
    if kind == "count":
        raise LookupError("parameters counted only; not run in this session (CPU time)")
    return load_embedder(family, device=device), None


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
        started = time.perf_counter()
        vectors = []
        for i in range(0, len(images), batch):
            embedder.batch_size = batch
            vectors += embedder.embed_images(images[i : i + batch])
        row.model_only[batch] = len(images) / (time.perf_counter() - started)
        row.tokens = statistics.mean(len(v) for v in vectors)
    embedder.batch_size = row.default_batch
    with pagelens.open(work / f"index-{row.name.replace(':', '-')}", embedder=embedder) as index:
        started = time.perf_counter()
        report = index.add([pdf], progress=False)
        row.pipeline = report.pages_added / (time.perf_counter() - started)


def print_table(rows: list[Row], batch_sizes: list[int], device: str) -> None:
    print(f"machine: {machine_line(device)}")
    print("pages: generated samples (pagelens.samples); weights: random (speed only, no retrieval quality)")
    print()
    heads = " | ".join(f"model-only b={b}" for b in batch_sizes)
    print(f"| row | parameters | vectors/page | default batch | {heads} | end to end (pages/s) | pages |")
    print("|---|---:|---:|---:|" + "---:|" * len(batch_sizes) + "---:|---:|")
    for row in rows:
        params = f"{row.params / 1e9:.2f}B" if row.params else ("tiny" if row.name.startswith("tiny") else "")
        if row.note:
            print(
                f"| {row.name} | {params} | | | " + " | ".join("" for _ in batch_sizes) + f" | {row.note} | |"
            )
            continue
        cells = " | ".join(f"{row.model_only[b]:.3g}" if b in row.model_only else "" for b in batch_sizes)
        pipeline = f"{row.pipeline:.3g}" if row.pipeline is not None else ""
        tokens = f"{row.tokens:.0f}" if row.tokens is not None else ""
        print(
            f"| {row.name} | {params} | {tokens} | {row.default_batch} | {cells} | {pipeline} | {row.pages} |"
        )
    print()
    print("pages/s, higher is better; model-only = forward passes on pre-rendered pages (the ceiling);")
    print("end to end = Index.add on a PDF of those pages (worker rendering + model + background store).")


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
    args = parser.parse_args()

    from pagelens.embed.batching import default_batch_size
    from pagelens.embed.device import resolve_device
    from pagelens.embed.torchvision_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    device = resolve_device(args.device)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    specs = [("model", args.model)] if args.model else [tuple(r.split(":", 1)) for r in args.rows.split(",")]
    work = Path(tempfile.mkdtemp(prefix="pagelens-pipeline-"))
    rows: list[Row] = []
    try:
        pdfs = {n: sample_pdf(work / f"pages-{n}", n) for n in {args.pages, args.tiny_pages}}
        for kind, family in specs:
            pdf = pdfs[args.tiny_pages if kind == "tiny" else args.pages]
            row = Row(f"{kind}:{family}")
            rows.append(row)
            started = time.perf_counter()
            try:
                embedder, row.params = load_row(kind, family, device, work)
            except (MemoryError, KeyError, LookupError, ImportError) as exc:
                row.note = f"not built here: {exc}"
                _note_params(row, kind, family)
                print(f"{row.name}: {row.note}", file=sys.stderr)
                continue
            backend = getattr(embedder, "backend", family)
            row.default_batch = default_batch_size(device, backend)
            print(f"{row.name}: built in {time.perf_counter() - started:.0f}s; measuring", file=sys.stderr)
            measure(row, embedder, pdf, batch_sizes, work)
            print(f"{row.name}: {row}", file=sys.stderr)
            del embedder
        print_table(rows, batch_sizes, device)
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
