"""Search filters, turned into Milvus filter expressions so Milvus applies them (not a post-filter):
the pages that match are found first, and ranking runs among them, so `k` results come back when `k` match.

    Filter(path="reports/2024/*", pages=(1, 3), metadata={"year": 2024, "score": {">=": 0.5}})
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pagelens.errors import UsageError

OPERATORS = {"==": "==", "!=": "!=", ">": ">", ">=": ">=", "<": "<", "<=": "<=", "in": "in"}
KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


@dataclass
class Filter:
    """`path`: a glob or a prefix of document paths; `documents`: exact paths; `pages`: an inclusive 1-based
    range; `metadata`: key -> value (equality) or {op: value} with op in == != > >= < <= in; `expression`: a
    raw Milvus expression over the pages collection (fields page, content_hash, n_vectors, metadata)."""

    path: str | None = None
    documents: list[str] = field(default_factory=list)
    pages: tuple[int, int] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    expression: str | None = None

    @classmethod
    def coerce(cls, value: Filter | Mapping[str, Any] | str | None) -> Filter | None:
        if value is None or isinstance(value, Filter):
            return value
        if isinstance(value, str):
            return cls(expression=value)
        unknown = set(value) - {"path", "documents", "pages", "metadata", "expression"}
        if unknown:
            raise UsageError(f"unknown filter keys: {', '.join(sorted(unknown))}")
        pages = value.get("pages")
        return cls(
            path=value.get("path"),
            documents=list(value.get("documents") or []),
            pages=(int(pages[0]), int(pages[1])) if pages else None,
            metadata=dict(value.get("metadata") or {}),
            expression=value.get("expression"),
        )

    @property
    def needs_documents(self) -> bool:
        return self.path is not None or bool(self.documents)

    def matches_path(self, path: str) -> bool:
        if self.documents and path not in self.documents:
            return False
        if self.path is None:
            return True
        return (
            path.startswith(self.path)
            or fnmatch.fnmatch(path, self.path)
            or fnmatch.fnmatch(path, f"*/{self.path}")
        )

    def page_expression(self) -> str:
        """The part Milvus evaluates on page rows."""
        parts: list[str] = []
        if self.pages is not None:
            first, last = self.pages
            if first < 1 or last < first:
                raise UsageError(f"page range must be 1-based and ordered, got {first}-{last}")
            parts.append(f"(page >= {first} and page <= {last})")
        for key, condition in self.metadata.items():
            if not KEY.match(key):
                raise UsageError(f"metadata key {key!r} must be letters, digits, '_' or '-'")
            conditions = condition if isinstance(condition, Mapping) else {"==": condition}
            for op, value in conditions.items():
                if op not in OPERATORS:
                    raise UsageError(f"unknown operator {op!r} for metadata key {key!r}")
                if op == "in" and not isinstance(value, list | tuple):
                    raise UsageError(f"'in' needs a list for metadata key {key!r}")
                parts.append(f'metadata["{key}"] {OPERATORS[op]} {json.dumps(value)}')
        if self.expression:
            parts.append(f"({self.expression})")
        return " and ".join(parts)


def parse_where(items: list[str]) -> dict[str, Any]:
    """CLI `--where key=value` / `key>=value` items -> metadata conditions (values parsed as JSON if they can be)."""
    conditions: dict[str, Any] = {}
    pattern = re.compile(r"^([^=!<>]+)(==|=|!=|>=|<=|>|<)(.*)$")
    for item in items:
        match = pattern.match(item)
        if not match:
            raise UsageError(f"--where {item!r}: expected KEY=VALUE or KEY>=VALUE")
        key, op, raw = match.group(1).strip(), match.group(2), match.group(3).strip()
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        conditions.setdefault(key, {})["==" if op == "=" else op] = value
    return conditions


def parse_pages(text: str | None) -> tuple[int, int] | None:
    """'3' -> (3, 3); '2-5' -> (2, 5)."""
    if not text:
        return None
    try:
        if "-" in text:
            first, last = text.split("-", 1)
            return int(first), int(last)
        return int(text), int(text)
    except ValueError:
        raise UsageError(f"--pages {text!r}: expected N or A-B") from None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "numbers"
    if isinstance(value, str):
        return "text"
    return "lists or objects"


def explain_no_match(conditions: Mapping[str, Any], metadatas: Iterable[Mapping[str, Any]]) -> str | None:
    """Why metadata `conditions` (as `Filter.metadata`) can match no page: a key no page has, or values of
    another type than every stored one (e.g. `year>=2022` where year was stored as the text '2022'). None when
    the conditions are well-formed for this index (then "no results" is the truth)."""
    seen: dict[str, dict[str, Any]] = {}  # key -> kind -> an example value
    for metadata in metadatas:
        for key, value in metadata.items():
            seen.setdefault(key, {}).setdefault(_kind(value), value)
    for key, condition in conditions.items():
        if key not in seen:
            known = ", ".join(sorted(seen)[:20]) or "none"
            return f"no indexed page has the metadata key {key!r} (keys in this index: {known})"
        conditions_of = condition if isinstance(condition, Mapping) else {"==": condition}
        for op, value in conditions_of.items():
            values = value if op == "in" and isinstance(value, list | tuple) else [value]
            for one in values:
                if _kind(one) not in seen[key]:
                    stored = ", ".join(
                        f"{kind} (e.g. {json.dumps(example)})" for kind, example in seen[key].items()
                    )
                    return (
                        f"metadata {key!r} {op} {json.dumps(one)}: {key!r} holds {stored}, not {_kind(one)}; "
                        "compare with a value of that type"
                    )
    return None
