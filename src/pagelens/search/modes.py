"""Search modes: visual (MaxSim on the page images), text (BM25 on the pages' own text) and hybrid (both,
fused by reciprocal rank fusion: search/hybrid.py). The default is hybrid when the index holds text, else
visual; an image query is always visual."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from pagelens.errors import UsageError
from pagelens.search.catalog import Catalog
from pagelens.search.hybrid import Fused, depth_for, fuse
from pagelens.search.retriever import Scored
from pagelens.search.text import TextSearch

MODES = ("visual", "text", "hybrid")

# (query vectors, k, allowed page ids or None, exact) -> the visual ranking
VisualSearch = Callable[[np.ndarray, int, Sequence[int] | None, bool], list[Scored]]


def resolve_mode(mode: str | None, *, text_query: bool, has_text: Callable[[], bool]) -> str:
    """The mode a search runs in: as asked (checked), else hybrid for a text query on an index with text."""
    if mode is not None:
        if mode not in MODES:
            raise UsageError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
        if mode != "visual" and not text_query:
            raise UsageError(f"an image query is searched visually only (mode {mode!r} needs a text query)")
        return mode
    return "hybrid" if text_query and has_text() else "visual"


def text_ranking(
    text: TextSearch, query: str, k: int, catalog: Catalog, allowed: Sequence[int] | None
) -> list[Fused]:
    """Text mode: BM25 alone."""
    return [
        Fused(s.page_id, s.score, text_score=s.score, text_rank=rank)
        for rank, s in enumerate(text.search(query, k, catalog, allowed), start=1)
    ]


def hybrid_ranking(
    text: TextSearch,
    visual: VisualSearch,
    query: str,
    vectors: np.ndarray,
    k: int,
    catalog: Catalog,
    allowed: Sequence[int] | None,
    *,
    exact: bool = False,
    text_weight: float = 1.0,
) -> list[Fused]:
    """Hybrid mode: both channels' top depth_for(k), fused; then each result's missing channel score is
    computed (exact MaxSim for a page only the text found, BM25 for one only the pixels found)."""
    depth = depth_for(k)
    fused = fuse(
        visual(vectors, depth, allowed, exact),
        text.search(query, depth, catalog, allowed),
        k,
        text_weight=text_weight,
    )
    no_visual = [f.page_id for f in fused if f.visual_score is None]
    if no_visual:
        scores = {s.page_id: s.score for s in visual(vectors, len(no_visual), no_visual, True)}
        for item in fused:
            if item.visual_score is None:
                item.visual_score = scores.get(item.page_id)
    no_text = [f.page_id for f in fused if f.text_score is None]
    if no_text:
        scores = text.scores_of(query, no_text, catalog)
        for item in fused:
            if item.text_score is None:
                item.text_score = scores.get(item.page_id, 0.0)
    return fused
