"""Snippets: a short passage of a page's own text around the query's best-matching terms, terms marked.

A match is a word of the page whose term (search/terms.py: lowercased, stemmed, not a stopword) is one of
the query's, so "expenditure" marks "expenditures" and "the" marks nothing. The passage is the window of
about SNIPPET_CHARS characters holding the most distinct query terms (then the most matches), widened to
whole words; matched words are wrapped in `**`, text cut off is shown as "…". A page none of whose words
match gets its opening instead (unmarked); a page without text gets None. Never longer than MAX_CHARS.
"""

from __future__ import annotations

import bisect
import re

from pagelens.search.terms import query_words, term_of, words

SNIPPET_CHARS = 300
MAX_CHARS = 1000
MARK_OPEN = MARK_CLOSE = "**"
ELLIPSIS = "…"
_WHITESPACE = re.compile(r"\s+")


def snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> str | None:
    """The marked passage of `text` for `query` (see the module docstring); None when `text` is empty."""
    flat = _WHITESPACE.sub(" ", text or "").strip()
    if not flat:
        return None
    width = max(40, min(width, MAX_CHARS // 2))
    wanted = {t for t in (term_of(w) for w in query_words(query)) if t}
    matches = [(m.start(), m.end(), term_of(m.group())) for m in words(flat)]
    hits: list[tuple[int, int, str | None]] = [(s, e, t) for s, e, t in matches if t in wanted]
    start, end = _window(hits, len(flat), width)
    start, end = _to_words(flat, start, end)
    pieces: list[str] = [ELLIPSIS] if start > 0 else []
    cursor = start
    for s, e, _ in hits:
        if s < start or e > end:
            continue
        pieces += [flat[cursor:s], MARK_OPEN, flat[s:e], MARK_CLOSE]
        cursor = e
    pieces.append(flat[cursor:end])
    if end < len(flat):
        pieces.append(ELLIPSIS)
    result = "".join(pieces)
    return result if len(result) <= MAX_CHARS else result[: MAX_CHARS - 1] + ELLIPSIS


def _window(hits: list[tuple[int, int, str | None]], length: int, width: int) -> tuple[int, int]:
    """[start, end) of the best window: most distinct terms, then most matches, then earliest."""
    if not hits:
        return 0, min(length, width)
    starts = [s for s, _, _ in hits]
    best: tuple[int, int, int] | None = None
    best_span = (0, 0)
    for i, (first, _, _) in enumerate(hits):
        last = bisect.bisect_left(starts, first + width) - 1  # matches starting inside the window
        inside = hits[i : last + 1]
        inside = [h for h in inside if h[1] <= first + width] or [hits[i]]
        key = (len({t for _, _, t in inside}), len(inside), -first)
        if best is None or key > best:
            best, best_span = key, (first, inside[-1][1])
    span_start, span_end = best_span
    pad = max(0, (width - (span_end - span_start)) // 2)
    start = max(0, span_start - pad)
    end = min(length, start + width)
    start = max(0, min(start, end - width))
    return start, end


def _to_words(text: str, start: int, end: int) -> tuple[int, int]:
    """The window moved inward to whole words."""
    if start > 0 and not text[start - 1].isspace():
        space = text.find(" ", start, end)
        start = space + 1 if space != -1 else start
    if end < len(text) and not text[end].isspace():
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    return start, end
