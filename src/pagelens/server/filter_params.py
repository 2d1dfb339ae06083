"""The search options the HTTP API shares with `pagelens search`: path, pages, where, exact, candidates.

The values are parsed with the CLI's own parsers (search/filters.py), so `pages=2-5` and `where=year>=2024`
mean what `--pages 2-5` and `--where year>=2024` mean. Every refusal is a UsageError (HTTP 400) whose message
starts with the parameter's name, e.g. "pages: page range must be 1-based and ordered, got 4-2".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Query
from pydantic import Field

from pagelens.errors import UsageError
from pagelens.search.filters import Filter, explain_no_match, parse_pages, parse_where

MAX_FILTER_VALUES = 20  # path= and where= values per request
MAX_FILTER_CHARS = 1000  # one path= or where= value
MAX_CANDIDATES = 100_000
# The syntax of `--pages`: N or A-B, 1-based. Order (4-2) is checked when the filter is built.
PAGES_PATTERN = r"^[1-9][0-9]{0,8}(-[1-9][0-9]{0,8})?$"
FilterValue = Annotated[str, Field(max_length=MAX_FILTER_CHARS)]


@dataclass(frozen=True)
class SearchFilters:
    """Parsed search options. `paths`: globs or prefixes of document paths (a page matches any one);
    `pages`: an inclusive 1-based range; `where`: metadata conditions as `Filter.metadata`."""

    paths: tuple[str, ...] = ()
    pages: tuple[int, int] | None = None
    where: dict[str, Any] = field(default_factory=dict)
    exact: bool = False
    candidates: int | None = None

    @classmethod
    def parse(
        cls,
        path: Iterable[str] = (),
        pages: str | None = None,
        where: Iterable[str] = (),
        exact: bool = False,
        candidates: int | None = None,
    ) -> SearchFilters:
        paths = tuple(p for p in path if p)
        where_items = [w for w in where if w]
        for name, values in (("path", paths), ("where", where_items)):
            if len(values) > MAX_FILTER_VALUES:
                raise UsageError(f"{name}: at most {MAX_FILTER_VALUES} values, got {len(values)}")
            if any(len(v) > MAX_FILTER_CHARS for v in values):
                raise UsageError(f"{name}: a value is longer than {MAX_FILTER_CHARS} characters")
        if candidates is not None and not 1 <= candidates <= MAX_CANDIDATES:
            raise UsageError(f"candidates: expected 1 to {MAX_CANDIDATES}, got {candidates}")
        return cls(
            paths=paths,
            pages=_pages(pages),
            where=_where(where_items),
            exact=exact,
            candidates=candidates,
        )

    def spec(self, documents: Iterable[Any], metadatas: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
        """The `filter=` for Index.search over an index holding `documents` (DocumentRecord-like: `.path`)
        and pages with `metadatas`; {"documents": []} when no document path matches. A `where` that can match
        no page here (a key no page has, a value of another type) is a UsageError saying why."""
        spec: dict[str, Any] = {}
        if self.paths:
            globs = [Filter(path=p) for p in self.paths]
            spec["documents"] = sorted(
                {d.path for d in documents if any(g.matches_path(d.path) for g in globs)}
            )
        if self.pages is not None:
            spec["pages"] = self.pages
        if self.where:
            reason = explain_no_match(self.where, metadatas)
            if reason is not None:
                raise UsageError(f"where: {reason}")
            spec["metadata"] = self.where
        return spec or None


NO_FILTERS = SearchFilters()


def matches_nothing(spec: Mapping[str, Any] | None) -> bool:
    """A spec whose path= values matched no document (Filter reads an empty `documents` as "any")."""
    return spec is not None and "documents" in spec and not spec["documents"]


def _pages(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        pages = parse_pages(text.strip())
    except UsageError:
        raise UsageError(f"pages: {text!r} is not N or A-B (1-based page numbers, e.g. 2-5)") from None
    try:
        Filter(pages=pages).page_expression()
    except UsageError as exc:
        raise UsageError(f"pages: {exc}") from None
    return pages


def _where(items: list[str]) -> dict[str, Any]:
    if not items:
        return {}
    try:
        conditions = parse_where(items)
        Filter(metadata=conditions).page_expression()
    except UsageError as exc:
        raise UsageError(f"where: {str(exc).removeprefix('--where ')}") from None
    for key, condition in conditions.items():
        for op, value in condition.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise UsageError(f"where: {key}{op}{value}: not a finite number")
    return conditions


def filter_query() -> Any:
    """A FastAPI dependency: the filter query parameters of the GET/POST search routes."""

    def dependency(
        path: list[FilterValue] = Query(
            [],
            max_length=MAX_FILTER_VALUES,
            description="only documents whose path matches this glob or starts with this prefix "
            "(like `--path`); repeat for several (a page matches any one)",
        ),
        pages: str | None = Query(
            None,
            pattern=PAGES_PATTERN,
            description="only pages in this 1-based range: N or A-B (like `--pages`); a backwards range "
            "such as 4-2 is a 400",
        ),
        where: list[FilterValue] = Query(
            [],
            max_length=MAX_FILTER_VALUES,
            description="a metadata condition KEY=VALUE, KEY!=VALUE, KEY>=VALUE, ... (like `--where`; "
            "values are JSON where they parse, else text); repeat for several (all must hold). A key no "
            "page has, or a value of another type than the stored ones, is a 400 that says so",
        ),
        exact: bool = Query(
            False, description="score every page exactly (like `--exact`; slow on big indexes)"
        ),
        candidates: int | None = Query(
            None,
            ge=1,
            le=MAX_CANDIDATES,
            description="pages scored exactly first, after candidate generation (like `--candidates`; more: better "
            "recall, slower); default: the server's",
        ),
    ) -> SearchFilters:
        return SearchFilters.parse(path, pages, where, exact, candidates)

    return dependency
