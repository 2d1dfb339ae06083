"""Indexing throughput: the whole pipeline (render in a worker process -> embed -> store in the background)
next to each stage alone on the same pages, and search latency on the resulting index.

    .venv/bin/python bench/pipeline_bench.py                      # tiny ColQwen2 built offline, ~100 pages
    .venv/bin/python bench/pipeline_bench.py --model PATH --device cuda --batch-size 16

The model-only row (forward passes over pre-rendered pages) is the pipeline's ceiling: pipeline pages/s
over model-only pages/s says how much rendering and storage still cost. With a tiny random model the model
is nearly free, so this measures pagelens' own overhead; with a real checkpoint, the model dominates.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "docs"
QUERIES = [
    "revenue by quarter",
    "table of results",
    "organisation chart",
    "signature and date",
    "map of the area",
]


def pick_pdfs(pages_wanted: int, folder: Path) -> int:
    """Copy real PDFs (smallest first, skipping broken ones) into `folder` until ~pages_wanted pages."""
    import pypdfium2

    total = 0
    for pdf in sorted(CORPUS.rglob("*.pdf"), key=lambda p: p.stat().st_size):
        try:
            count = len(pypdfium2.PdfDocument(str(pdf)))
        except pypdfium2.PdfiumError:
            continue
        if count == 0 or count > 20:
            continue
        shutil.copy(pdf, folder / f"{pdf.parent.name}-{pdf.name}")
        total += count
        if total >= pages_wanted:
            break
    return total


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", default=None, help="checkpoint folder or hub name (default: tiny colqwen2)"
    )
    parser.add_argument("--tiny-family", default="colqwen2")
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--queries", type=int, default=30)
    args = parser.parse_args()

    import pagelens
    from pagelens.embed import load_embedder
    from pagelens.sources import Document, iter_pages

    work = Path(tempfile.mkdtemp(prefix="pagelens-pipeline-"))
    try:
        model = args.model
        if model is None:
            from pagelens.testing.tiny_models import build_tiny_model

            model = str(build_tiny_model(args.tiny_family, work / "model"))
        docs = work / "docs"
        docs.mkdir()
        pages = pick_pdfs(args.pages, docs)
        embedder = load_embedder(model, device=args.device, batch_size=args.batch_size)
        batch = embedder.batch_size  # type: ignore[attr-defined]

        # stage alone: rasterize
        started = time.perf_counter()
        images = [
            p.image
            for pdf in sorted(docs.iterdir())
            for p in iter_pages(Document.from_path(pdf), embedder.image_side)
        ]
        raster_s = time.perf_counter() - started

        # stage alone: model forward passes on the same pages (the ceiling)
        embedder.embed_images(images[:batch])  # warm-up
        started = time.perf_counter()
        vectors = []
        for i in range(0, len(images), batch):
            vectors += embedder.embed_images(images[i : i + batch])
        model_s = time.perf_counter() - started
        mean_vectors = statistics.mean(len(v) for v in vectors)

        # stage alone: store (add_embeddings of those vectors into a fresh Lite index)
        records = [{"path": f"p{i // 10}", "page": i % 10 + 1, "embedding": v} for i, v in enumerate(vectors)]
        with pagelens.open(work / "store-only") as index:
            started = time.perf_counter()
            index.add_embeddings(records)
            store_s = time.perf_counter() - started

        # the whole pipeline
        with pagelens.open(work / "index", embedder=embedder, batch_size=batch) as index:
            started = time.perf_counter()
            report = index.add([docs], progress=False)
            pipeline_s = time.perf_counter() - started
            # search latency on this index
            index.search("warm up", k=5)
            text_ms, search_ms = [], []
            for i in range(args.queries):
                query = QUERIES[i % len(QUERIES)]
                t = time.perf_counter()
                index.search(query, k=10)
                text_ms.append((time.perf_counter() - t) * 1000)
                q = embedder.embed_queries([query])[0]
                t = time.perf_counter()
                index.search_embedding(q, k=10)
                search_ms.append((time.perf_counter() - t) * 1000)
            image_ms = []
            for image in images[: min(10, len(images))]:
                q = embedder.embed_images([image])[0]
                t = time.perf_counter()
                index.search_embedding(q, k=10)
                image_ms.append((time.perf_counter() - t) * 1000)
            indexed = index.status().pages

        cpu = platform.processor() or platform.machine()
        print(
            f"machine: {cpu}, {os.cpu_count()} cores; device {getattr(embedder, 'device', args.device)}; "
            f"model {model if args.model else 'tiny ' + args.tiny_family + ' (random init)'}; batch {batch}; "
            f"{pages} real PDF pages from ../shared/corpus/docs, {mean_vectors:.0f} vectors/page, Milvus Lite"
        )
        print()
        print("| stage | seconds | pages/s |")
        print("|---|---:|---:|")
        print(f"| rasterize alone (pypdfium2, in process) | {raster_s:.2f} | {pages / raster_s:.1f} |")
        print(f"| model alone (forward passes; the ceiling) | {model_s:.2f} | {pages / model_s:.1f} |")
        print(f"| store alone (add_embeddings into Milvus Lite) | {store_s:.2f} | {pages / store_s:.1f} |")
        print(
            f"| **pipeline** (`index.add`: worker rendering + model + background store) | {pipeline_s:.2f} | "
            f"{report.pages_added / pipeline_s:.1f} |"
        )
        print()
        print(f"pipeline / model-only: {(report.pages_added / pipeline_s) / (pages / model_s):.2f}")
        t = report.timings
        print(
            f"pipeline split (s): waiting for rasterize {t['rasterize']:.2f}, embed {t['embed']:.2f}, "
            f"store (background thread) {t['store']:.2f}; pages indexed {indexed}"
        )
        print()
        print(f"| search on {indexed} pages | p50 (ms) | p95 (ms) |")
        print("|---|---:|---:|")
        for name, values in (
            ("text query, incl. query embedding", text_ms),
            ("search_embedding (text query vectors)", search_ms),
            ("search_embedding (image query vectors)", image_ms),
        ):
            print(f"| {name} | {np.percentile(values, 50):.1f} | {np.percentile(values, 95):.1f} |")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
