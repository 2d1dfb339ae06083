"""Retrieval quality: judged query sets (JSONL or ViDoRe/BEIR), run through an index, scored with ranx.

from pagelens.evaluate import evaluate, load_judged
result = evaluate(index, load_judged("judged.jsonl"), k=10)
result.metrics["ndcg@10"]
"""

from pagelens.evaluate.judgements import JudgedQuery, JudgedSet, Relevant, load_judged, page_key
from pagelens.evaluate.metrics import METRICS, EvalResult, QueryResult, RankedPage, evaluate, score_rankings

__all__ = [
    "METRICS",
    "EvalResult",
    "JudgedQuery",
    "JudgedSet",
    "QueryResult",
    "RankedPage",
    "Relevant",
    "evaluate",
    "load_judged",
    "page_key",
    "score_rankings",
]
