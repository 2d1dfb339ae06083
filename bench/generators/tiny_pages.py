"""The tiny models' vectors of real rendered pages: a tiny, randomly initialised ColQwen2
(pagelens.testing.tiny_models, seeded) run through pagelens' own embedder on every page of the real PDFs
(generators.base.real_docs), scans and figure pages included.

- The tiny checkpoint's image processor is widened from 6 to 768 merged image tokens a page (its
  `longest_edge` pixel budget raised to 768 x 28 x 28), so a page gets ~600-780 vectors like ColQwen2.5 at
  its default resolution; pages are rendered at 1.5x (108 dpi) with pypdfium2 and resized by the processor.
- The weights are random: the vectors are a fixed random function of the page's pixels (white margins give
  near-identical vectors, text and figures vary), not semantics. Queries: real phrases of the pages' text
  (real_pages.paraphrased_queries) through the same model's query side, so their relation to the pages is
  as arbitrary as the weights; recall against exact MaxSim is what is measured, and that needs no meaning.
- Beyond the real pages: spliced pages (generators/real_pages.py). Extracted once (~0.25 s a page on one
  core) into .bench-out/tiny-colqwen2-v1-<corpus fingerprint>.npy/.json; queries beside them.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from generators.base import CACHE, real_docs
from generators.real_pages import (
    RealPage,
    SplicedPool,
    cache_file,
    load_pool,
    paraphrased_queries,
    pdf_files,
    pool_exists,
    save_pool,
    text_pages,
)

IMAGE_TOKENS = 768
RENDER_SCALE = 1.5
VERSION = "v1"


def _embedder() -> Any:
    """pagelens' embedder over the tiny ColQwen2 with the widened image budget (built once into .bench-out)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from pagelens.embed import load_embedder
    from pagelens.testing.tiny_models import build_tiny_model

    torch.set_num_threads(1)
    folder = CACHE / f"tiny-colqwen2-{VERSION}-{IMAGE_TOKENS}"
    if not (folder / "model.safetensors").exists():
        build_tiny_model("colqwen2", folder)
        config_file = folder / "processor_config.json"
        config = json.loads(config_file.read_text())
        config["image_processor"]["size"] = {"longest_edge": IMAGE_TOKENS * 28 * 28, "shortest_edge": 28 * 28}
        config_file.write_text(json.dumps(config, indent=2))
    return load_embedder(str(folder), device="cpu", batch_size=4)


def _rendered(folder: Path) -> Iterator[tuple[RealPage, Any]]:
    """(page, PIL image) for every page of every readable PDF, rendered lazily one document at a time."""
    import pypdfium2

    texts = {(p.path, p.page): p for p in text_pages(folder)}
    for path in pdf_files(folder):
        try:
            document = pypdfium2.PdfDocument(str(path))
        except Exception:  # noqa: BLE001 - broken/encrypted PDFs are skipped, as ingest reports them
            continue
        try:
            relative = str(path.relative_to(folder))
            for number in range(len(document)):
                try:
                    image = document[number].render(scale=RENDER_SCALE).to_pil().convert("RGB")
                except Exception:  # noqa: BLE001 - an unrenderable page is left out
                    continue
                page = texts.get((relative, number + 1), RealPage(relative, number + 1, ""))
                yield page, image
        finally:
            document.close()


def _extract(folder: Path, file: Path) -> None:
    embedder = _embedder()
    pages: list[RealPage] = []
    vectors: list[np.ndarray] = []
    pending: list[tuple[RealPage, Any]] = []

    def flush() -> None:
        for (page, _), array in zip(pending, embedder.embed_images([im for _, im in pending]), strict=True):
            pages.append(page)
            vectors.append(np.asarray(array, dtype=np.float32))
        pending.clear()

    for item in _rendered(folder):
        pending.append(item)
        if len(pending) == 4:
            flush()
            if len(pages) % 100 == 0:
                print(f"tiny-colqwen2: {len(pages)} pages embedded", file=sys.stderr)
    if pending:
        flush()
    save_pool(file, vectors, pages, model=f"tiny ColQwen2 ({IMAGE_TOKENS} image tokens)")


class TinyModelSource(SplicedPool):
    description = (
        "a tiny random ColQwen2 (pagelens.testing.tiny_models, 768 image tokens) on real rendered pages, "
        "scans included; beyond the real pages, spliced pages of two real pages (+noise 0.03); queries: real "
        "phrases of the pages' text through the model's query side"
    )

    def __init__(self, pages: int, seed: int = 0) -> None:
        folder, self.docs_label = real_docs()
        file = cache_file("tiny-colqwen2", folder, VERSION)
        if not pool_exists(file):
            print(
                f"tiny-colqwen2: rendering and embedding the real pages once (cached in {file.name})",
                file=sys.stderr,
            )
            _extract(folder, file)
        pool, real, _ = load_pool(file)
        super().__init__("tiny-colqwen2", pool, real, pages, seed)
        self.pool_file = file

    def queries(self, count: int, seed: int = 1) -> list[np.ndarray]:
        file = self.pool_file.with_name(f"{self.pool_file.stem}-queries-{self.seed}-{seed}-{count}.npz")
        if file.exists():
            with np.load(file) as data:
                flat, offsets = data["vectors"], data["offsets"]
            return [flat[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
        texts = paraphrased_queries(self.real, count, self.seed * 1000 + seed)
        vectors = [np.asarray(v, dtype=np.float32) for v in _embedder().embed_queries(texts)]
        offsets = np.cumsum([0] + [len(v) for v in vectors])
        np.savez(file, vectors=np.concatenate(vectors), offsets=offsets)
        return vectors
