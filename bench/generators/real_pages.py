"""What the real-document distributions share: the PDFs they read (generators.base.real_docs: ../shared/corpus/docs,
else the documents pagelens.samples writes), their text layers (pypdfium2), real-text queries paraphrased
from them, the on-disk pool of extracted vectors, and the documented way a corpus larger than the real
pages is reached (spliced pages).

Reaching 1,000 / 10,000 / 100,000 pages from ~600 real ones (~20 with the samples): page i < (real pages) is
real page i, unchanged. Every later page is a **spliced page**: a contiguous 40-100 % span of one real page's
vectors followed by a 20-60 % span of another's (two distinct pages drawn from (seed, i)), each vector given
Gaussian noise of norm ~0.03 and renormalised. So every page's vectors are real model outputs of real text
(plus small noise), no two pages are copies, and page sizes stay real (no padding); spliced pages are grouped
10 to a made-up document. With the samples' ~20 real pages the spliced pages repeat the same few sources
much more: a harder, less realistic corpus (many near-ties); the tables name which documents were used.

The pool (every real page's vectors, float32, concatenated) is a .npy file memory-mapped read-only, so a
process touches only the pages it reads.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generators.base import CACHE, unit

SPLICE_NOISE = 0.03
SPLICED_PER_DOC = 10


@dataclass(frozen=True)
class RealPage:
    path: str  # relative to the docs folder, e.g. "camelot/foo.pdf"
    page: int  # 1-based
    text: str


def pdf_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.pdf"))


def corpus_fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in pdf_files(folder):
        digest.update(f"{path.relative_to(folder)}:{path.stat().st_size}\n".encode())
    return digest.hexdigest()[:16]


def text_pages(folder: Path) -> list[RealPage]:
    """Every page of every readable PDF under `folder` with its text layer (unreadable files skipped)."""
    import pypdfium2

    pages: list[RealPage] = []
    for path in pdf_files(folder):
        try:
            document = pypdfium2.PdfDocument(str(path))
        except Exception:  # noqa: BLE001 - broken/encrypted PDFs are skipped, as ingest reports them
            continue
        try:
            for number in range(len(document)):
                try:
                    text = document[number].get_textpage().get_text_range()
                except Exception:  # noqa: BLE001
                    text = ""
                pages.append(RealPage(str(path.relative_to(folder)), number + 1, " ".join(text.split())))
        finally:
            document.close()
    return pages


def cache_file(name: str, folder: Path, version: str) -> Path:
    """Where the pool of `name` (extraction `version`) over the PDFs of `folder` lives (.npy + .json)."""
    return CACHE / f"{name}-{version}-{corpus_fingerprint(folder)}.npy"


def save_pool(file: Path, vectors: list[np.ndarray], pages: list[RealPage], **extra: object) -> None:
    """Write the pool atomically: the .json (offsets, pages, what made it) last, so a pool is complete
    exactly when its .json exists."""
    if not vectors:
        raise SystemExit(f"{file.name}: no page with usable content in the documents")
    file.parent.mkdir(parents=True, exist_ok=True)
    offsets = np.cumsum([0] + [len(v) for v in vectors]).tolist()
    tmp = file.with_name(file.stem + ".tmp.npy")
    np.save(tmp, np.concatenate(vectors).astype(np.float32))
    tmp.replace(file)
    meta = {"offsets": offsets, "pages": [[p.path, p.page, p.text] for p in pages], **extra}
    meta_tmp = file.with_suffix(".json.tmp")
    meta_tmp.write_text(json.dumps(meta))
    meta_tmp.replace(file.with_suffix(".json"))


def pool_exists(file: Path) -> bool:
    return file.exists() and file.with_suffix(".json").exists()


def load_pool(file: Path) -> tuple[list[np.ndarray], list[RealPage], dict[str, object]]:
    """The pool's pages as views of one read-only memory map, their RealPages and the extra metadata."""
    flat = np.load(file, mmap_mode="r")
    meta = json.loads(file.with_suffix(".json").read_text())
    offsets = meta.pop("offsets")
    vectors = [flat[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
    pages = [RealPage(p[0], int(p[1]), p[2]) for p in meta.pop("pages")]
    return vectors, pages, meta


class SplicedPool:
    """Pages 0..count-1 over a pool of real pages' vectors: real first, then spliced (module docstring)."""

    def __init__(
        self, name: str, pool: list[np.ndarray], real: list[RealPage], count: int, seed: int
    ) -> None:
        self.name, self.pool, self.real, self.count, self.seed = name, pool, real, count, seed
        self.dim = int(pool[0].shape[1])

    def info(self, index: int) -> tuple[str, int]:
        if index < len(self.pool):
            return self.real[index].path, self.real[index].page
        spliced = index - len(self.pool)
        return f"{self.name}-spliced/doc-{spliced // SPLICED_PER_DOC:06d}.pdf", spliced % SPLICED_PER_DOC + 1

    def vectors(self, index: int) -> np.ndarray:
        if index < len(self.pool):
            return self.pool[index].astype(np.float32, copy=True)
        rng = np.random.default_rng([self.seed, 0x5911CE, index])
        first, second = (self.pool[int(i)] for i in rng.choice(len(self.pool), size=2, replace=False))
        parts = []
        for source, (low, high) in ((first, (0.4, 1.0)), (second, (0.2, 0.6))):
            length = max(1, int(round(len(source) * rng.uniform(low, high))))
            start = int(rng.integers(len(source) - length + 1))
            parts.append(source[start : start + length])
        vectors = np.concatenate(parts).astype(np.float32)
        vectors += SPLICE_NOISE * rng.standard_normal(vectors.shape).astype(np.float32) / np.sqrt(self.dim)
        return unit(vectors)


_WORD = re.compile(r"[A-Za-z][A-Za-z\-']+|\d+(?:[.,]\d+)?")


def paraphrased_queries(real: list[RealPage], count: int, seed: int) -> list[str]:
    """`count` query strings from real pages' text: 70 % one phrase of 6-14 consecutive words from one page,
    30 % two shorter phrases from two pages; each with ~20 % of words dropped and adjacent pairs swapped."""
    rng = np.random.default_rng([seed, 0x0E3])
    usable = [p for p in real if len(_WORD.findall(p.text)) >= 12]
    if not usable:
        raise SystemExit("no page of the documents has a text layer of 12+ words: no text queries")

    def phrase(words_wanted: int) -> list[str]:
        words = _WORD.findall(usable[int(rng.integers(len(usable)))].text)
        length = min(len(words), words_wanted)
        start = int(rng.integers(len(words) - length + 1))
        return words[start : start + length]

    queries: list[str] = []
    for _ in range(count):
        if rng.random() < 0.7:
            words = phrase(int(rng.integers(6, 15)))
        else:
            words = phrase(int(rng.integers(4, 8))) + phrase(int(rng.integers(4, 8)))
        kept = [w for w in words if rng.random() >= 0.2] or words[:3]
        for i in range(0, len(kept) - 1, 2):
            if rng.random() < 0.3:
                kept[i], kept[i + 1] = kept[i + 1], kept[i]
        queries.append(" ".join(kept))
    return queries
