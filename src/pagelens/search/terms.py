"""Words of a text as search terms: lowercased, English stopwords dropped, reduced to a stem (Snowball
English, the `snowballstemmer` package), so "expenditure" and "expenditures" are one term.

The same rule picks the query terms sent to Milvus' BM25 (whose analyzer stems with the same algorithm),
marks the words of a snippet, and tokenizes pages for the local BM25 engine (search/text.py)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

# Words and numbers: letters/digits, with inner apostrophes, dots or commas between digits ("3.5", "1,200").
WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*(?:[.,]\d+)*", re.UNICODE)

# Common English function words: they say nothing about which page a query wants.
_STOPWORD_LIST = """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having
    he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
    nor not now of off on once only or other our ours ourselves out over own same she should so some such
    than that the their theirs them themselves then there these they this those through to too under until
    up very was we were what when where which while who whom why will with would you your yours yourself
    yourselves"""
STOPWORDS = frozenset(_STOPWORD_LIST.split())


@functools.cache
def _stemmer() -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball English stem of a lowercased word."""
    return str(_stemmer().stemWord(word))


def words(text: str) -> Iterator[re.Match[str]]:
    """Every word of `text`, with its position."""
    return WORD.finditer(text)


def term_of(word: str) -> str | None:
    """The search term for one word: its stem, or None for a stopword."""
    lowered = word.lower().replace("’", "'")
    if lowered in STOPWORDS:
        return None
    return stem(lowered)


def analyze(text: str) -> list[str]:
    """The terms of `text`, in order (repeats kept)."""
    return [t for t in (term_of(m.group()) for m in words(text)) if t]


def query_words(query: str) -> list[str]:
    """The query's words that count (stopwords dropped, each distinct term once), as written."""
    seen: set[str] = set()
    kept: list[str] = []
    for match in words(query):
        term = term_of(match.group())
        if term and term not in seen:
            seen.add(term)
            kept.append(match.group())
    return kept
