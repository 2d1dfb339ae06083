"""Text alongside pixels, measured: `pagelens eval` in visual, text and hybrid mode side by side on a judged
set of our own (bench/judged/corpus_docs_text.jsonl: questions on ../shared/corpus/docs whose answer page we
verified by reading its text), and the text channel against a plain BM25 library baseline on the same pages.

- visual: MaxSim of the tiny random ColQwen2 (pagelens.testing.tiny_models): real weights can't be
  downloaded here, so its numbers are those of a random model (near chance), not of ColQwen2;
- text: pagelens' text channel (Milvus Lite's BM25 over the pages' stored terms, search/terms.py);
- hybrid: both, reciprocal rank fusion (search/hybrid.py, RRF_K = 60);
- bm25s (plain): the `bm25s` library on the same stored page text, its own tokenizer with English
  stopwords, no stemming; bm25s (+stemmer): the same with a Snowball English stemmer.
Every ranking is scored by the same metrics code (pagelens.evaluate, ranx), top 10.

    .venv/bin/python bench/text_bench.py                # writes bench/results/text.md
    .venv/bin/python bench/text_bench.py --corpus ../shared/corpus/docs --no-write
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
JUDGED = REPO / "bench" / "judged" / "corpus_docs_text.jsonl"
RESULTS = REPO / "bench" / "results" / "text.md"
MACHINE = "2-core x86_64 VM, 24 GiB, no GPU, shared with other jobs"
# Documents indexed besides the judged ones (paths relative to the corpus docs folder): pages that compete.
DISTRACTORS = [
    "pdfplumber/examples/pdfs/ca-warn-report.pdf",
    "pdfplumber/tests/pdfs/issue-67-example.pdf",
    "pdfplumber/tests/pdfs/senate-expenditures.pdf",
    "pdfplumber/tests/pdfs/scotus-transcript-p1.pdf",
    "pdfplumber/tests/pdfs/issue-848.pdf",
    "pdfplumber/tests/pdfs/issue-982-example.pdf",
    "pdfplumber/tests/pdfs/pdffill-demo.pdf",
    "pdfplumber/tests/pdfs/test-punkt.pdf",
    "camelot/tests/files/tabula/icdar2013-dataset/competition-dataset-eu/eu-007.pdf",
    "byaldi/examples/docs/financial_report.pdf",
]
K = 10
WEIGHTS = (2.0, 4.0)  # RRF text weights measured besides the default (1)
SHOWN = ("ndcg@10", "recall@1", "recall@10", "mrr@10")


def _judged_absolute(judged: Path, corpus: Path, folder: Path) -> tuple[Path, list[str]]:
    """The judged set with absolute paths (it names paths relative to the corpus), and those documents."""
    lines, documents = [], []
    for line in judged.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        for item in row["relevant"]:
            item["path"] = str((corpus / item["path"]).resolve())
            documents.append(item["path"])
        lines.append(json.dumps(row))
    target = folder / "judged.jsonl"
    target.write_text("\n".join(lines) + "\n")
    return target, sorted(set(documents))


def _baseline(index, judged, stemmed: bool) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """bm25s over the index's own stored page text, ranked and scored like an eval run."""
    import logging

    import bm25s
    import snowballstemmer

    logging.getLogger("bm25s").setLevel(logging.WARNING)

    from pagelens.evaluate.judgements import page_key
    from pagelens.evaluate.metrics import score_rankings

    catalog = index.catalog
    pages = catalog.pages
    texts = index.text_search.index.texts([p.page_id for p in pages])
    stemmer = snowballstemmer.stemmer("english") if stemmed else None
    corpus = [texts.get(p.page_id, "") for p in pages]
    engine = bm25s.BM25()
    engine.index(
        bm25s.tokenize(corpus, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False
    )
    keys = [page_key(catalog.path_of(p), p.page) for p in pages]
    qrels, rankings = {}, {}
    for query in judged.queries:
        tokens = bm25s.tokenize([query.text], stopwords="en", stemmer=stemmer, show_progress=False)
        ids, scores = engine.retrieve(tokens, k=min(K, len(pages)), show_progress=False)
        qrels[query.id] = {r.key: r.grade for r in query.relevant}
        rankings[query.id] = [keys[int(i)] for i, s in zip(ids[0], scores[0], strict=True) if s > 0]
    means, _ = score_rankings(qrels, rankings)
    return means


def _weighted_rrf(index, judged, weights: tuple[float, ...]) -> dict[float, dict[str, float]]:  # type: ignore[no-untyped-def]
    """Hybrid rankings fused with other text weights (search/hybrid.fuse over each channel's top 50)."""
    from pagelens.evaluate.judgements import page_key
    from pagelens.evaluate.metrics import score_rankings
    from pagelens.search.hybrid import HYBRID_DEPTH, fuse
    from pagelens.search.retriever import Scored

    qrels = {q.id: {r.key: r.grade for r in q.relevant} for q in judged.queries}
    channels = {}
    for query in judged.queries:
        lists = []
        for mode in ("visual", "text"):
            hits = index.search(query.text, k=HYBRID_DEPTH, mode=mode)
            lists.append(
                (
                    [Scored(h.page_id, h.score) for h in hits],
                    {h.page_id: page_key(h.path, h.page) for h in hits},
                )
            )
        channels[query.id] = lists
    out = {}
    for weight in weights:
        rankings = {}
        for qid, ((visual, vkeys), (text, tkeys)) in channels.items():
            keys = {**vkeys, **tkeys}
            rankings[qid] = [keys[f.page_id] for f in fuse(visual, text, K, text_weight=weight)]
        out[weight] = score_rankings(qrels, rankings)[0]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus" / "docs")
    parser.add_argument("--judged", type=Path, default=JUDGED)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"text_bench: no corpus at {args.corpus} (pass --corpus)", file=sys.stderr)
        return 1
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import logging

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    import pagelens
    from pagelens.evaluate.judgements import load_judged
    from pagelens.evaluate.metrics import evaluate
    from pagelens.testing.tiny_models import build_tiny_model

    with tempfile.TemporaryDirectory(prefix="text-bench-") as tmp:
        folder = Path(tmp)
        judged_path, documents = _judged_absolute(args.judged, args.corpus, folder)
        documents += [str((args.corpus / d).resolve()) for d in DISTRACTORS if (args.corpus / d).is_file()]
        model = build_tiny_model("colqwen2", folder / "model")
        judged = load_judged(judged_path)
        with pagelens.open(folder / "index", model=str(model), device="cpu") as index:
            started = time.perf_counter()
            report = index.add(documents, progress=False)
            build_seconds = time.perf_counter() - started
            status = index.status()
            rows: dict[str, dict[str, float]] = {}
            seconds: dict[str, float] = {}
            for mode in ("visual", "text", "hybrid"):
                started = time.perf_counter()
                rows[mode] = evaluate(index, judged, k=K, mode=mode).metrics
                seconds[mode] = (time.perf_counter() - started) / len(judged.queries)
            started = time.perf_counter()
            for weight, metrics in _weighted_rrf(index, judged, WEIGHTS).items():
                rows[f"hybrid, text weight {weight:g}"] = metrics
                seconds[f"hybrid, text weight {weight:g}"] = float("nan")
            for name, stemmed in (("bm25s (plain)", False), ("bm25s (+stemmer)", True)):
                started = time.perf_counter()
                rows[name] = _baseline(index, judged, stemmed)
                seconds[name] = (time.perf_counter() - started) / len(judged.queries)
    header = f"| ranking | {' | '.join(SHOWN)} | s/query |"
    lines = [header, "|---|" + "---:|" * (len(SHOWN) + 1)]
    labels = {
        "visual": "visual (tiny random ColQwen2: chance level)",
        "text": "**text** (Milvus BM25, pagelens terms)",
        "hybrid": "**hybrid** (RRF, k=60)",
    }
    for name, metrics in rows.items():
        cells = " | ".join(f"{metrics[m]:.3f}" for m in SHOWN)
        took = "" if seconds[name] != seconds[name] else f"{seconds[name]:.3f}"  # NaN: fused offline
        lines.append(f"| {labels.get(name, name)} | {cells} | {took} |")
    table = "\n".join(lines)
    facts = (
        f"{len(judged.queries)} judged queries; {status.documents} documents, {status.pages} pages "
        f"({status.pages_with_text} with text), indexed in {build_seconds:.0f} s "
        f"({len(report.failed)} failed); text engine {status.text_search}; top {K}."
    )
    print(table)
    print(facts)
    if not args.no_write:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            "# Text and hybrid search on a judged set of real documents\n\n"
            f"Machine: {MACHINE} ({platform.machine()}, Python {platform.python_version()}).\n\n"
            "```bash\n.venv/bin/python bench/text_bench.py\n```\n\n"
            f"{facts}\n\n{table}\n\n"
            "The judged set (`bench/judged/corpus_docs_text.jsonl`, paths relative to `../shared/corpus/docs`) "
            "was written by reading each answer page's text layer: one question per fact, phrased in our own "
            "words, relevant pages listed where the fact is stated (two where a table and its discussion sit "
            "on different pages). The visual model is a tiny, randomly initialised ColQwen2 (no real weights "
            "can be downloaded here), so the visual row is chance level and the hybrid row shows what fusing "
            "with an uninformative visual channel costs; with a real ColPali-family model the visual row and "
            "the fusion would differ. The 'text weight' rows fuse the same two top-50 rankings with the text "
            "channel counted 2x and 4x (search/hybrid.fuse's `text_weight`; the default is 1, plain RRF). "
            "The bm25s rows compare pagelens' text channel with the bm25s library on the very same stored "
            "page text.\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
