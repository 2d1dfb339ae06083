"""Judged query sets: queries with the pages that answer them, from JSONL or a ViDoRe/BEIR dataset.

JSONL, one query a line (blank lines are skipped)::

    {"query": "Where is the BLEU table?", "relevant": [{"path": "papers/attention.pdf", "page": 8}]}

`path` is resolved against the JSONL file's folder; `page` is 1-based and defaults to 1 (an image, a dataset
row); `grade` (graded relevance, > 0) defaults to 1; an optional `id` names the query (default `q1`, `q2`...).
A dataset row is `DATASET#ROW_ID`, as pagelens indexes it.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pagelens.errors import SourceError, UsageError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Relevant:
    """A judged page: `path` as the index stores it (absolute), 1-based `page`, graded relevance (> 0)."""

    path: str
    page: int
    grade: int = 1

    @property
    def key(self) -> str:
        return page_key(self.path, self.page)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "page": self.page, "grade": self.grade}


@dataclass
class JudgedQuery:
    id: str
    text: str
    relevant: list[Relevant] = field(default_factory=list)


@dataclass
class JudgedSet:
    """Queries and their relevant pages. `source` names where they came from."""

    source: str
    queries: list[JudgedQuery] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.queries)


def page_key(path: str, page: int) -> str:
    """One string per (path, page): what the metrics library compares."""
    return f"{path}#page={page}"


def resolve_judged_path(raw: str, folder: Path) -> str:
    """An absolute path as the index stores it: relative to `folder`, symlinks resolved; `DATASET#ROW` kept."""
    candidate = Path(raw).expanduser()
    if not candidate.is_absolute():
        candidate = folder / candidate
    if candidate.exists():
        return str(candidate.resolve())
    from pagelens.sources.datasets import split_dataset_path

    split = split_dataset_path(str(candidate))
    if split is not None:
        return f"{split[0].resolve()}#{split[1]}"
    return os.path.abspath(candidate)


def _positive_int(value: Any, default: int, what: str, where: str) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise UsageError(f"{where}: {what} must be an integer, got {value!r}")
    return int(value)


def _parse_line(line: str, where: str, folder: Path, number: int) -> JudgedQuery:
    try:
        item = json.loads(line)
    except ValueError as exc:
        raise UsageError(f"{where}: not JSON ({exc})") from exc
    if not isinstance(item, dict):
        raise UsageError(f"{where}: expected an object with 'query' and 'relevant'")
    text = item.get("query")
    if not isinstance(text, str) or not text.strip():
        raise UsageError(f"{where}: 'query' must be a non-empty string")
    relevant_items = item.get("relevant", [])
    if not isinstance(relevant_items, list):
        raise UsageError(f"{where}: 'relevant' must be a list of {{path, page}} objects")
    relevant = []
    for entry in relevant_items:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or not entry["path"]:
            raise UsageError(f"{where}: each relevant item needs a 'path' string, got {entry!r}")
        page = _positive_int(entry.get("page"), 1, "page", where)
        if page < 1:
            raise UsageError(f"{where}: pages are 1-based, got page {page}")
        grade = _positive_int(entry.get("grade"), 1, "grade", where)
        if grade > 0:
            relevant.append(Relevant(resolve_judged_path(entry["path"], folder), page, grade))
    query_id = item.get("id", f"q{number}")
    return JudgedQuery(str(query_id), text, relevant)


def load_jsonl(path: Path) -> JudgedSet:
    """Read a JSONL judged set (see the module's docstring)."""
    path = Path(path).expanduser()
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise SourceError(str(path), f"cannot read file ({exc.strerror or exc})") from exc
    folder = path.resolve().parent
    judged = JudgedSet(str(path.resolve()))
    number = 0
    for line_number, line in enumerate(lines, start=1):
        if line.strip():
            number += 1
            judged.queries.append(_parse_line(line, f"{path}:{line_number}", folder, number))
    return _checked(judged)


def load_beir_judged(path: Path, id_column: str | None = None) -> JudgedSet:
    """A ViDoRe/BEIR dataset's queries; relevant pages are its corpus rows (`DATASET#CORPUS_ID`, page 1)."""
    from pagelens.sources.datasets import load_beir

    root = Path(path).expanduser().resolve()
    corpus_ids, queries, qrels = load_beir(root, id_column)
    known = set(corpus_ids)
    unknown = sorted({c for judged in qrels.values() for c in judged} - known)
    if unknown:
        log.warning(
            "%s: %d judged corpus id(s) are not in its corpus (e.g. %s)", root, len(unknown), unknown[0]
        )
    orphans = sorted(set(qrels) - set(queries))
    if orphans:
        log.warning(
            "%s: qrels name %d query id(s) missing from its queries (e.g. %s)", root, len(orphans), orphans[0]
        )
    judged = JudgedSet(str(root))
    for query_id, text in queries.items():
        relevant = [
            Relevant(f"{root}#{corpus_id}", 1, grade)
            for corpus_id, grade in qrels.get(query_id, {}).items()
            if grade > 0
        ]
        judged.queries.append(JudgedQuery(query_id, text, relevant))
    return _checked(judged)


def _checked(judged: JudgedSet) -> JudgedSet:
    """Drop queries without relevant pages (no metric is defined for them); refuse repeated ids and empty sets."""
    seen: set[str] = set()
    for query in judged.queries:
        if query.id in seen:
            raise UsageError(f"{judged.source}: query id {query.id!r} appears twice")
        seen.add(query.id)
    empty = [q for q in judged.queries if not q.relevant]
    if empty:
        log.warning("%s: %d query(s) have no relevant pages and are left out", judged.source, len(empty))
    judged.queries = [q for q in judged.queries if q.relevant]
    if not judged.queries:
        raise UsageError(f"{judged.source}: no query with relevant pages to evaluate")
    return judged


def load_judged(source: str | os.PathLike[str], id_column: str | None = None) -> JudgedSet:
    """A judged set from a JSONL file or a ViDoRe/BEIR dataset (folder or parquet)."""
    from pagelens.sources.datasets import is_dataset

    path = Path(source).expanduser()
    if not path.exists():
        raise SourceError(str(path), "no such file or folder")
    if is_dataset(path):
        return load_beir_judged(path, id_column)
    if path.is_file():
        return load_jsonl(path)
    raise UsageError(f"{path}: expected a JSONL file of judged queries or a ViDoRe/BEIR dataset")
