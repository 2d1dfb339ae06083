"""Retrieval quality of an index on a judged query set, with the metrics computed by `ranx`.

Metric definitions (ranx's): nDCG@k with linear gain (grade / log2(rank + 1), Järvelin & Kekäläinen),
recall@k (relevant pages in the top k / relevant pages), MRR@k (1 / rank of the first relevant page in the
top k, else 0). Each is averaged over the queries.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pagelens.errors import MissingDependencyError, UsageError
from pagelens.evaluate.judgements import JudgedSet, Relevant, page_key

log = logging.getLogger(__name__)

METRICS = ("ndcg@5", "ndcg@10", "recall@1", "recall@5", "recall@10", "mrr@10")
_ID_WIDTH = 12


def _ranx() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import ranx
    except ImportError as exc:
        raise MissingDependencyError("ranx", "eval") from exc
    return ranx


def score_rankings(
    qrels: Mapping[str, Mapping[str, int]],
    rankings: Mapping[str, Sequence[str]],
    metrics: Sequence[str] = METRICS,
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Mean and per-query metrics. `qrels`: {query id: {doc key: grade > 0}}; `rankings`: {query id: doc keys,
    best first} (a query missing from `rankings` retrieved nothing). Returns ({metric: mean},
    {query id: {metric: value}})."""
    if not qrels:
        raise UsageError("no judged queries to score")
    # ranx stores doc ids as numpy strings as wide as the longest id, and numba compiles its metrics once per
    # width (tens of seconds each): fixed-width ids keep one compiled, cached signature for every judged set.
    ids: dict[str, str] = {}

    def doc_id(key: str) -> str:
        return ids.setdefault(key, f"{len(ids):0{_ID_WIDTH}d}")

    qrels_dict: dict[str, dict[str, int]] = {}
    for query_id, judged in qrels.items():
        qrels_dict[query_id] = {doc_id(key): int(g) for key, g in judged.items() if g > 0}
        if not qrels_dict[query_id]:
            raise UsageError(f"query {query_id!r} has no relevant page to score against")
    run_dict: dict[str, dict[str, float]] = {}
    for query_id in qrels:
        ranking = list(dict.fromkeys(rankings.get(query_id, ())))  # first occurrence wins
        # scores that encode the given order exactly: ranx re-sorts by score, and ties would reorder
        run_dict[query_id] = {doc_id(key): float(len(ranking) - i) for i, key in enumerate(ranking)}
    if not any(run_dict.values()):  # nothing retrieved at all (ranx cannot hold an empty run)
        return {m: 0.0 for m in metrics}, {q: {m: 0.0 for m in metrics} for q in qrels}
    ranx = _ranx()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's type-safety warnings inside ranx
        run = ranx.Run(run_dict)
        ranx.evaluate(ranx.Qrels(qrels_dict), run, list(metrics), return_mean=True, make_comparable=False)
    per_query = {q: {m: float(run.scores[m][q]) for m in metrics} for q in qrels}
    means = {m: float(run.mean_scores[m]) for m in metrics}
    return means, per_query


@dataclass
class RankedPage:
    path: str
    page: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "page": self.page, "score": round(self.score, 6)}


@dataclass
class QueryResult:
    id: str
    query: str
    metrics: dict[str, float]
    ranking: list[RankedPage]
    relevant: list[Relevant]

    @property
    def first_relevant_rank(self) -> int | None:
        keys = {r.key for r in self.relevant}
        return next((i for i, p in enumerate(self.ranking, 1) if page_key(p.path, p.page) in keys), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "query": self.query,
            "metrics": {m: round(v, 6) for m, v in self.metrics.items()},
            "first_relevant_rank": self.first_relevant_rank,
            "ranking": [p.to_dict() for p in self.ranking],
            "relevant": [r.to_dict() for r in self.relevant],
        }


@dataclass
class EvalResult:
    """Mean metrics, per-query results, and the judged pages the index does not hold (`missing`)."""

    metrics: dict[str, float]
    queries: list[QueryResult]
    source: str
    k: int
    missing: list[Relevant] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "metrics": {m: round(v, 6) for m, v in self.metrics.items()},
            "queries": [q.to_dict() for q in self.queries],
            "judged": self.source,
            "k": self.k,
            "missing": [r.to_dict() for r in self.missing],
            "seconds": round(self.seconds, 3),
        }


def _run_queries(index: Any, texts: list[str], k: int, mode: str | None = None) -> list[list[Any]]:
    extra = {"mode": mode} if mode is not None else {}  # search modes (visual / text / hybrid)
    search_many = getattr(index, "search_many", None)
    if callable(search_many):
        return [list(hits) for hits in search_many(texts, k, **extra)]
    return [list(index.search(text, k, **extra)) for text in texts]


def _aliases(index: Any) -> tuple[dict[str, list[str]], dict[str, int] | None]:
    """{content hash: every indexed path holding it}, {path: page count} (None when the index cannot say)."""
    documents = getattr(index, "documents", None)
    if not callable(documents):
        return {}, None
    by_hash: dict[str, list[str]] = {}
    pages: dict[str, int] = {}
    for document in documents():
        if getattr(document, "status", "indexed") == "indexed":
            by_hash.setdefault(document.content_hash, []).append(document.path)
            pages[document.path] = int(document.pages)
    return by_hash, pages


def _ranked(hit: Any, judged: set[str], aliases: dict[str, list[str]]) -> RankedPage:
    """The hit as a ranked page. A page whose content is indexed under several paths (copies, identical
    dataset rows) is reported under one of them; it counts as the judged one when any of them is judged."""
    for path in aliases.get(getattr(hit, "content_hash", ""), ()):
        if page_key(path, hit.page) in judged:
            return RankedPage(path, int(hit.page), float(hit.score))
    return RankedPage(str(hit.path), int(hit.page), float(hit.score))


def evaluate(
    index: Any, judged: JudgedSet, k: int = 10, metrics: Sequence[str] = METRICS, mode: str | None = None
) -> EvalResult:
    """Run every judged query through `index.search(query, k)` (or `index.search_many(queries, k)`) and
    score the rankings against the judgements. `mode` (visual / text / hybrid) is passed to the search."""
    if k < 1:
        raise UsageError(f"k must be at least 1, got {k}")
    deepest = max(int(m.split("@")[1]) for m in metrics if "@" in m) if metrics else k
    if k < deepest:
        log.warning(
            "searching the top %d only: metrics at cut-offs up to %d count nothing below it", k, deepest
        )
    started = time.perf_counter()
    aliases, page_counts = _aliases(index)
    results = _run_queries(index, [q.text for q in judged.queries], k, mode)
    qrels: dict[str, dict[str, int]] = {}
    ranked: dict[str, list[RankedPage]] = {}
    for query, hits in zip(judged.queries, results, strict=True):
        qrels[query.id] = {r.key: r.grade for r in query.relevant}
        ranked[query.id] = [_ranked(hit, set(qrels[query.id]), aliases) for hit in hits]
    rankings = {q: [page_key(p.path, p.page) for p in pages] for q, pages in ranked.items()}
    means, per_query = score_rankings(qrels, rankings, metrics)
    missing: list[Relevant] = []
    if page_counts is not None:
        unique = {r.key: r for q in judged.queries for r in q.relevant}
        missing = [r for r in unique.values() if page_counts.get(r.path, 0) < r.page]
    queries = [QueryResult(q.id, q.text, per_query[q.id], ranked[q.id], q.relevant) for q in judged.queries]
    return EvalResult(means, queries, judged.source, k, missing, time.perf_counter() - started)
