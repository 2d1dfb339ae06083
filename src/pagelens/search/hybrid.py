"""Hybrid ranking: the visual ranking (MaxSim) and the text ranking (BM25) fused by reciprocal rank fusion.

    score(page) = sum over channels c of  weight_c / (RRF_K + rank_c(page))

with rank_c the page's 1-based rank in channel c's top HYBRID_DEPTH (a channel where it is not ranked adds
nothing), RRF_K = 60 (Cormack, Clarke and Buettcher, SIGIR 2009, the constant most systems use), and
weights 1 (visual) and `text_weight` (text, default 1). Ranks, not raw scores, are fused: MaxSim sums and
BM25 scores live on unrelated scales. Each fused hit keeps both raw scores, so a result explains itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from pagelens.search.retriever import Scored

RRF_K = 60
HYBRID_DEPTH = 50  # each channel's ranking depth fused (at least 2k)
TEXT_WEIGHT = 1.0


@dataclass
class Fused:
    """One page of a fused ranking: the fused score, and each channel's raw score and rank (None: the page
    is not in that channel's ranking)."""

    page_id: int
    score: float
    visual_score: float | None = None
    text_score: float | None = None
    visual_rank: int | None = None
    text_rank: int | None = None


def depth_for(k: int) -> int:
    """How deep each channel ranks for a fused top `k`."""
    return max(HYBRID_DEPTH, 2 * k)


def fuse(
    visual: list[Scored], text: list[Scored], k: int, *, text_weight: float = TEXT_WEIGHT, rrf_k: int = RRF_K
) -> list[Fused]:
    """The best `k` pages by reciprocal rank fusion of two rankings (each best first); ties broken by the
    better single rank, then page id."""
    if text_weight < 0:
        raise ValueError("text_weight must be >= 0")
    fused: dict[int, Fused] = {}
    for rank, item in enumerate(visual, start=1):
        entry = fused.setdefault(item.page_id, Fused(item.page_id, 0.0))
        entry.visual_score, entry.visual_rank = item.score, rank
        entry.score += 1.0 / (rrf_k + rank)
    for rank, item in enumerate(text, start=1):
        entry = fused.setdefault(item.page_id, Fused(item.page_id, 0.0))
        entry.text_score, entry.text_rank = item.score, rank
        entry.score += text_weight / (rrf_k + rank)
    worst = len(visual) + len(text) + 1

    def order(entry: Fused) -> tuple[float, int, int]:
        best = min(entry.visual_rank or worst, entry.text_rank or worst)
        return (-entry.score, best, entry.page_id)

    return sorted(fused.values(), key=order)[:k]
