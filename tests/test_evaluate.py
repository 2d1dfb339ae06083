"""Evaluation: judged query sets (JSONL, ViDoRe/BEIR), the metrics library checked on a hand-worked case,
and `evaluate` / `pagelens eval` end to end on real documents with the deterministic FakeEmbedder."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from conftest import PAPER
from fakes import FakeEmbedder
from pagelens.errors import SourceError, UsageError
from pagelens.evaluate import METRICS, evaluate, load_judged, page_key, score_rankings
from pagelens.evaluate.judgements import JudgedQuery, JudgedSet, Relevant

ranx = pytest.importorskip("ranx")


def _ranx_means(qrels: dict[str, dict[str, int]], rankings: dict[str, list[str]]) -> dict[str, float]:
    """The same metrics through ranx directly, with decreasing scores (ids padded to one width: numba
    compiles ranx's metrics once per id width)."""
    keys = sorted(
        {k for judged in qrels.values() for k in judged} | {k for ks in rankings.values() for k in ks}
    )
    short = {key: f"doc-{i:08d}" for i, key in enumerate(keys)}
    judged = {q: {short[k]: g for k, g in rel.items()} for q, rel in qrels.items()}
    run = {q: {short[k]: 1.0 / (i + 1) for i, k in enumerate(ks)} for q, ks in rankings.items()}
    scores = ranx.evaluate(ranx.Qrels(judged), ranx.Run(run), list(METRICS), make_comparable=True)
    return {m: float(v) for m, v in scores.items()}


# ---- the metrics, by hand ----------------------------------------------------------------------------------
def test_metrics_library_matches_a_hand_worked_example() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 2, "c": 1}}
    rankings = {
        "q1": ["x1", "x2", "x3", "x4", "x5", "a", "x6"],  # the only relevant page at rank 6
        "q2": ["c", "z", "b"],  # grade 1 at rank 1, grade 2 at rank 3
    }
    means, per_query = score_rankings(qrels, rankings)
    log2 = math.log2
    q1 = {
        "ndcg@5": 0.0,
        "ndcg@10": (1 / log2(7)) / 1.0,
        "recall@1": 0.0,
        "recall@5": 0.0,
        "recall@10": 1.0,
        "mrr@10": 1 / 6,
    }
    dcg_q2 = 1 / log2(2) + 2 / log2(4)  # linear gain: grade / log2(rank + 1)
    idcg_q2 = 2 / log2(2) + 1 / log2(3)
    q2 = {
        "ndcg@5": dcg_q2 / idcg_q2,
        "ndcg@10": dcg_q2 / idcg_q2,
        "recall@1": 0.5,
        "recall@5": 1.0,
        "recall@10": 1.0,
        "mrr@10": 1.0,
    }
    for metric in METRICS:
        assert per_query["q1"][metric] == pytest.approx(q1[metric], abs=1e-9), metric
        assert per_query["q2"][metric] == pytest.approx(q2[metric], abs=1e-9), metric
        assert means[metric] == pytest.approx((q1[metric] + q2[metric]) / 2, abs=1e-9), metric
    assert means["ndcg@5"] == pytest.approx(0.38009376671593426, abs=1e-9)  # (0 + 2/2.6309...) / 2


def test_ranking_order_is_kept_even_when_scores_tie() -> None:
    # a query that retrieved nothing scores 0; duplicates count once
    means, per_query = score_rankings({"q1": {"b": 1}, "q2": {"a": 1}}, {"q1": ["a", "b", "b"]})
    assert per_query["q1"]["mrr@10"] == pytest.approx(0.5)
    assert per_query["q2"]["recall@10"] == 0.0


# ---- judged sets -------------------------------------------------------------------------------------------
def test_jsonl_paths_defaults_and_errors(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    pdf = tmp_path / "docs" / "a.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    lines = [
        {"query": "first", "relevant": [{"path": "docs/a.pdf", "page": 3}, {"path": str(pdf), "grade": 2}]},
        {"id": "mine", "query": "second", "relevant": [{"path": "docs/a.pdf", "page": 1, "grade": 0}]},
        {"query": "third", "relevant": [{"path": "elsewhere/b.png"}]},
    ]
    judged_file = tmp_path / "judged.jsonl"
    judged_file.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    judged = load_judged(judged_file)
    assert [q.id for q in judged.queries] == ["q1", "q3"]  # grade 0 only: the query has nothing relevant
    first = judged.queries[0]
    assert first.relevant == [Relevant(str(pdf.resolve()), 3, 1), Relevant(str(pdf.resolve()), 1, 2)]
    assert judged.queries[1].relevant[0].path == str(tmp_path.resolve() / "elsewhere" / "b.png")

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "ok", "relevant": [{"path": "x", "page": 1}]}\n{not json\n')
    with pytest.raises(UsageError, match="bad.jsonl:2"):
        load_judged(bad)
    bad.write_text('{"query": "ok", "relevant": [{"path": "x", "page": 0}]}\n')
    with pytest.raises(UsageError, match="1-based"):
        load_judged(bad)
    bad.write_text(
        '{"id": 1, "query": "a", "relevant": [{"path": "x"}]}\n{"id": 1, "query": "b", "relevant": [{"path": "x"}]}\n'
    )
    with pytest.raises(UsageError, match="twice"):
        load_judged(bad)
    with pytest.raises(SourceError):
        load_judged(tmp_path / "missing.jsonl")


def test_vidore_judged_set(corpus: Path) -> None:
    vidore = corpus / "vidore-arxivqa-sample"
    judged = load_judged(vidore)
    root = str(vidore.resolve())
    assert [q.id for q in judged.queries] == ["q_0", "q_1"]
    assert judged.queries[0].relevant == [Relevant(f"{root}#0", 1, 1)]
    assert judged.queries[1].relevant == [Relevant(f"{root}#1", 1, 1)]


# ---- end to end --------------------------------------------------------------------------------------------
QUERIES = ["late interaction retrieval results", "revenue by quarter chart", "recall scores table"]


def _judged_over(index, docs: Path, judged_file: Path) -> None:  # type: ignore[no-untyped-def]
    """Judgements chosen from the index's own rankings, so every metric has a known, non-trivial value."""
    first = index.search(QUERIES[0], k=10)
    second = index.search(QUERIES[1], k=10)
    rel = [
        {"path": str(Path(h.path).relative_to(docs.parent)), "page": h.page} for h in (first[0], second[2])
    ]
    lines = [
        {"query": QUERIES[0], "relevant": [rel[0]]},  # the top hit: every metric 1
        {
            "query": QUERIES[1],
            "relevant": [{**rel[1], "grade": 2}, {"path": f"docs/{PAPER}", "page": 99}],
        },
        {"query": QUERIES[2], "relevant": [{"path": "docs/not-indexed.pdf", "page": 1}]},  # never retrieved
    ]
    judged_file.write_text("\n".join(json.dumps(line) for line in lines))


def test_evaluate_jsonl_over_real_pdfs_matches_ranx_on_the_same_rankings(fake_index, docs_copy: Path) -> None:  # type: ignore[no-untyped-def]
    index = fake_index()
    assert index.add([docs_copy]).pages_added == 14
    judged_file = docs_copy.parent / "judged.jsonl"
    _judged_over(index, docs_copy, judged_file)
    judged = load_judged(judged_file)

    result = evaluate(index, judged, k=10)
    assert set(result.metrics) == set(METRICS)
    for query, text in zip(result.queries, QUERIES, strict=True):
        hits = index.search(text, k=10)
        assert [(p.path, p.page) for p in query.ranking] == [(h.path, h.page) for h in hits]
    # the same rankings through ranx directly
    qrels = {q.id: {r.key: r.grade for r in q.relevant} for q in judged.queries}
    rankings = {q.id: [page_key(p.path, p.page) for p in q.ranking] for q in result.queries}
    expected = _ranx_means(qrels, rankings)
    for metric in METRICS:
        assert result.metrics[metric] == pytest.approx(expected[metric], abs=1e-12), metric
    # and by hand: q1 perfect; q2 one of two relevant at rank 3; q3 nothing
    q1, q2, q3 = (q.metrics for q in result.queries)
    assert q1 == {m: 1.0 for m in METRICS}
    assert q2["mrr@10"] == pytest.approx(1 / 3) and q2["recall@10"] == pytest.approx(0.5)
    assert q2["ndcg@5"] == pytest.approx((2 / math.log2(4)) / (2 + 1 / math.log2(3)))
    assert q3 == {m: 0.0 for m in METRICS}
    assert sorted((Path(r.path).name, r.page) for r in result.missing) == [
        ("not-indexed.pdf", 1),
        (PAPER, 99),
    ]


def test_eval_command_json_and_table(
    fake_index, docs_copy: Path, tmp_path: Path, monkeypatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    from pagelens.cli import main

    index = fake_index("cli-index")
    index.add([docs_copy])
    judged_file = docs_copy.parent / "judged.jsonl"
    _judged_over(index, docs_copy, judged_file)
    judged = load_judged(judged_file)
    library = evaluate(index, judged)
    distinct = len({r.key for q in judged.queries for r in q.relevant})  # two judged pages may coincide
    index.close()

    monkeypatch.setattr("pagelens.embed.load_embedder", lambda *args, **kwargs: FakeEmbedder())
    assert main(["eval", str(judged_file), "--index", str(tmp_path / "cli-index"), "--json"]) == 0
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    assert set(payload["metrics"]) == {"ndcg@5", "ndcg@10", "recall@1", "recall@5", "recall@10", "mrr@10"}
    for metric, value in library.metrics.items():
        assert payload["metrics"][metric] == pytest.approx(value, abs=1e-6)
    first = payload["queries"][0]
    assert first["query"] == QUERIES[0] and len(first["ranking"]) == 10
    assert set(first["ranking"][0]) == {"path", "page", "score"}
    assert first["relevant"][0]["path"].endswith("docs/" + Path(first["relevant"][0]["path"]).name)
    assert f"2 of {distinct} judged page(s) are not in the index" in captured.err

    assert main(["eval", str(judged_file), "--index", str(tmp_path / "cli-index")]) == 0
    table = capsys.readouterr().out
    assert "ndcg@10" in table and "mrr@10" in table and QUERIES[1] in table


def test_evaluate_vidore_with_embeddings_added_directly(fake_index, corpus: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The ViDoRe judged set against an index holding its rows (embedded here, without the ingest pipeline)."""
    from pagelens.sources.datasets import dataset_documents, render_dataset_page

    vidore = tmp_path / "vidore"
    shutil.copytree(corpus / "vidore-arxivqa-sample", vidore)
    embedder = FakeEmbedder()
    index = fake_index(embedder=embedder)
    documents = dataset_documents(vidore)
    images = [render_dataset_page(d, embedder.image_side) for d in documents]
    records = [
        {"path": d.path, "page": 1, "embedding": e}
        for d, e in zip(documents, embedder.embed_images(images), strict=True)
    ]
    index.add_embeddings(records)
    result = evaluate(index, load_judged(vidore), k=10)
    assert [q.id for q in result.queries] == ["q_0", "q_1"]
    assert result.metrics["recall@10"] == 1.0  # 10 pages, top 10: everything is retrieved
    assert not result.missing
    for query in result.queries:
        rank = query.first_relevant_rank
        assert rank is not None and query.metrics["mrr@10"] == pytest.approx(1 / rank)


def _dataset_pages_supported(vidore: Path) -> bool:
    from pagelens.sources.datasets import dataset_documents
    from pagelens.sources.pages import count_pages

    try:
        return count_pages(dataset_documents(vidore)[0]) == 1
    except (SourceError, TypeError):
        return False


def test_pagelens_index_then_eval_on_the_vidore_sample(
    corpus: Path, tmp_path: Path, tiny_models, capsys
) -> None:  # type: ignore[no-untyped-def]
    from pagelens.cli import main

    vidore = tmp_path / "vidore"
    shutil.copytree(corpus / "vidore-arxivqa-sample", vidore)
    if not _dataset_pages_supported(vidore):
        pytest.skip("pagelens.sources.pages does not dispatch kind 'dataset' yet")
    index = str(tmp_path / "index")
    model = str(tiny_models("colqwen2"))  # a real (tiny, random) model through the real loading path
    assert main(["index", str(vidore), "--index", index, "--model", model, "--quiet"]) == 0
    assert main(["status", "--index", index, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pages"] == 10
    assert main(["eval", str(vidore), "--index", index, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [q["query"] for q in payload["queries"]] == [q.text for q in load_judged(vidore).queries]
    assert payload["metrics"]["recall@10"] == 1.0
    assert payload["missing"] == []


def test_evaluate_uses_search_many_when_the_index_has_it() -> None:
    class Hit:
        def __init__(self, path: str, page: int, score: float) -> None:
            self.path, self.page, self.score, self.content_hash = path, page, score, ""

    class Many:
        def __init__(self) -> None:
            self.calls: list[list[str]] = []

        def search_many(self, queries: list[str], k: int) -> list[list[Hit]]:
            self.calls.append(list(queries))
            return [[Hit("/d.pdf", 2, 0.9), Hit("/d.pdf", 1, 0.9)] for _ in queries]

    judged = JudgedSet(
        "mem",
        [JudgedQuery("a", "x", [Relevant("/d.pdf", 1)]), JudgedQuery("b", "y", [Relevant("/e.pdf", 1)])],
    )
    index = Many()
    result = evaluate(index, judged, k=10)
    assert index.calls == [["x", "y"]]
    assert result.queries[0].metrics["mrr@10"] == 0.5  # tie in score, order kept
    assert result.metrics["recall@10"] == 0.5
