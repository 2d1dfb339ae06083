"""`pagelens eval QRELS`: run a judged query set through an index and print its retrieval metrics."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from pagelens.evaluate.judgements import load_judged
from pagelens.evaluate.metrics import EvalResult, evaluate

DEFAULT_K = 10
_QUERY_WIDTH = 60


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(result: EvalResult, index: str, model: str | None) -> str:
    """The human-readable report: mean metrics, then one line a query."""
    lines = [
        f"judged: {result.source} ({len(result.queries)} queries)",
        f"index:  {index} (model {model or '(none)'}), top {result.k}",
        "",
        f"{'metric':<10} {'value':>7}",
    ]
    lines += [f"{name:<10} {value:>7.4f}" for name, value in result.metrics.items()]
    shown = [m for m in ("ndcg@10", "recall@10", "mrr@10") if m in result.metrics] or list(result.metrics)[:3]
    lines += ["", "  ".join([f"{'id':<8}", *(f"{m:>9}" for m in shown), f"{'first':>5}", "query"])]
    for query in result.queries:
        first = query.first_relevant_rank
        cells = [f"{_short(query.id, 8):<8}", *(f"{query.metrics[m]:>9.4f}" for m in shown)]
        cells += [f"{first if first is not None else '-':>5}", _short(query.query, _QUERY_WIDTH)]
        lines.append("  ".join(cells))
    return "\n".join(lines)


def _warn_missing(result: EvalResult, stream: TextIO) -> None:
    if not result.missing:
        return
    total = len({r.key for q in result.queries for r in q.relevant})
    first = result.missing[0]
    print(
        f"warning: {len(result.missing)} of {total} judged page(s) are not in the index "
        f"(e.g. {first.path} page {first.page}); index them, or check the judged paths",
        file=stream,
    )


MODES = ("visual", "text", "hybrid")


def format_modes(results: dict[str, EvalResult], index: str, model: str | None) -> str:
    """`eval --mode all`: one column of mean metrics per search mode."""
    first = next(iter(results.values()))
    lines = [
        f"judged: {first.source} ({len(first.queries)} queries)",
        f"index:  {index} (model {model or '(none)'}), top {first.k}",
        "",
        f"{'metric':<10} " + " ".join(f"{mode:>8}" for mode in results),
    ]
    for name in first.metrics:
        lines.append(f"{name:<10} " + " ".join(f"{r.metrics[name]:>8.4f}" for r in results.values()))
    return "\n".join(lines)


def run_eval(args: argparse.Namespace) -> int:
    """The `eval` subcommand: exit 0 on success (errors are raised as pagelens errors for the CLI)."""
    from pagelens.cli import _open

    judged = load_judged(args.qrels, getattr(args, "id_column", None))
    k = max(int(getattr(args, "k", None) or DEFAULT_K), 1)
    mode = getattr(args, "mode", None)
    with _open(args, create=False) as index:  # a read command: no index, no folder made
        if mode == "all":
            results = {m: evaluate(index, judged, k=k, mode=m) for m in MODES}
            where, model = index.location.describe(), index.model
            _warn_missing(results["visual"], sys.stderr)
            if getattr(args, "json", False):
                print(json.dumps({"modes": {m: r.to_dict() for m, r in results.items()}}, indent=2))
            else:
                print(format_modes(results, where, model))
            return 0
        result = evaluate(index, judged, k=k, mode=mode)
        where, model = index.location.describe(), index.model
    _warn_missing(result, sys.stderr)
    if getattr(args, "json", False):
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(format_table(result, where, model))
    return 0
