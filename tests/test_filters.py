"""Filters are evaluated by Milvus before ranking: a filter matching 3 pages of 1,000 returns those 3."""

from __future__ import annotations

import numpy as np
import pytest

import pagelens
from pagelens.errors import UsageError
from pagelens.search.filters import Filter, parse_pages, parse_where


@pytest.fixture(scope="module")
def thousand(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    records = []
    for i in range(1000):
        vectors = rng.standard_normal((16, 128)).astype(np.float32)
        records.append(
            {
                "path": f"/data/{'reports' if i % 100 == 0 else 'misc'}/doc{i // 10}.pdf",
                "page": i % 10 + 1,
                "embedding": vectors / np.linalg.norm(vectors, axis=1, keepdims=True),
                "metadata": {"year": 2000 + i % 25, "kind": "invoice" if i in (7, 507, 907) else "letter"},
            }
        )
    index = pagelens.open(tmp_path_factory.mktemp("filters") / "idx")
    index.add_embeddings(records)
    yield index, records
    index.close()


def _query(records: list[dict], i: int) -> np.ndarray:
    return records[i]["embedding"][:8]


def test_metadata_filter_matching_three_pages_returns_exactly_those(thousand) -> None:  # type: ignore[no-untyped-def]
    index, records = thousand
    hits = index.search_embedding(_query(records, 1), k=10, filter={"metadata": {"kind": "invoice"}})
    assert sorted((h.path, h.page) for h in hits) == sorted(
        (records[i]["path"], records[i]["page"]) for i in (7, 507, 907)
    )


def test_k_results_when_k_match_even_if_they_rank_low_overall(thousand) -> None:  # type: ignore[no-untyped-def]
    index, records = thousand
    spec = {"metadata": {"year": {">=": 2020, "<": 2022}}, "pages": (1, 5)}
    hits = index.search_embedding(_query(records, 3), k=20, filter=spec)
    matching = [r for r in records if 2020 <= r["metadata"]["year"] < 2022 and r["page"] <= 5]
    assert len(hits) == min(20, len(matching))
    assert all(2020 <= h.metadata["year"] < 2022 and 1 <= h.page <= 5 for h in hits)
    exact = index.search_embedding(_query(records, 3), k=20, filter=spec, exact=True)
    assert [h.page_id for h in hits] == [h.page_id for h in exact]


def test_path_glob_and_prefix_filters(thousand) -> None:  # type: ignore[no-untyped-def]
    index, records = thousand
    hits = index.search_embedding(_query(records, 5), k=50, filter={"path": "/data/reports/"})
    assert len(hits) == 10 and all("/reports/" in h.path for h in hits)
    globbed = index.search_embedding(_query(records, 5), k=50, filter=Filter(path="*/doc1.pdf", pages=(2, 3)))
    assert sorted((h.path, h.page) for h in globbed) == [
        ("/data/misc/doc1.pdf", 2),
        ("/data/misc/doc1.pdf", 3),
    ]
    assert index.search_embedding(_query(records, 5), k=5, filter={"path": "/nowhere/*"}) == []


def test_bad_filters_are_usage_errors(thousand) -> None:  # type: ignore[no-untyped-def]
    index, records = thousand
    with pytest.raises(UsageError, match="unknown filter keys"):
        index.search_embedding(_query(records, 0), filter={"colour": "red"})
    with pytest.raises(UsageError, match="operator"):
        index.search_embedding(_query(records, 0), filter={"metadata": {"year": {"~": 1}}})
    with pytest.raises(UsageError, match="invalid filter"):
        index.search_embedding(_query(records, 0), filter="this is not ( an expression")
    raw = index.search_embedding(_query(records, 0), k=3, filter='metadata["kind"] == "invoice"')
    assert len(raw) == 3


def test_cli_filter_parsing() -> None:
    assert parse_where(["year>=2020", "kind=invoice", "n=3"]) == {
        "year": {">=": 2020},
        "kind": {"==": "invoice"},
        "n": {"==": 3},
    }
    assert parse_pages("2-5") == (2, 5) and parse_pages("4") == (4, 4)
    with pytest.raises(UsageError):
        parse_pages("two")
    with pytest.raises(UsageError):
        parse_where(["nonsense"])


def test_filter_expression_quotes_values() -> None:
    expression = Filter(metadata={"name": 'a "quoted" value', "tags": {"in": ["x", "y"]}}).page_expression()
    assert expression == 'metadata["name"] == "a \\"quoted\\" value" and metadata["tags"] in ["x", "y"]'
