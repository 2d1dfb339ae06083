"""Page text in Milvus: the `text` field of the pages collection, and full-text search over it.

`text` (a plain VARCHAR) holds the page's text as extracted, for snippets. Where Milvus has full-text
search (a BM25 Function filling a SPARSE_FLOAT_VECTOR field from a VARCHAR with an analyzer: Milvus Lite
3.x, servers 2.5 and later), the pages collection also gets `text_terms` (the page's search terms,
search/terms.py: stemmed, no stopwords, space-separated) and `text_sparse` (BM25 of `text_terms`, filled by
Milvus), and Milvus ranks pages by BM25 with filters evaluated by Milvus. Older servers (2.3.5, tested;
2.4) have no BM25 function, and 2.3.5 cannot index a sparse field at all: there search/text.py ranks with
the `bm25s` library over the stored text. Which one an index uses is read from its pages collection.

Why pagelens analyzes the text itself: Milvus Lite 3.2.2 accepts an analyzer's "stemmer" and "stop"
filters but applies neither (measured: "regions" does not find "region", "the" is a term), while its
standard tokenizer and lowercase filter work. Terms made here are the same on every Milvus version, and
the same ones the snippets mark.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pagelens.store.milvus import MilvusStore

log = logging.getLogger(__name__)

TEXT_FIELD = "text"
TERMS_FIELD = "text_terms"
SPARSE_FIELD = "text_sparse"
MAX_TEXT_BYTES = 65_535  # Milvus' VARCHAR limit, in bytes of UTF-8
ANALYZER = {"tokenizer": "standard", "filter": ["lowercase"]}  # on terms already made by search/terms.py
MILVUS_ENGINE = "milvus-bm25"
LOCAL_ENGINE = "bm25s"
MAX_LIMIT = 16_384  # Milvus' largest top-k
ID_FILTER_MAX = 4_096  # a restriction to at most this many page ids goes to Milvus as `page_id in [...]`
ID_BATCH = 2_000


def fit_text(text: str, limit: int = MAX_TEXT_BYTES) -> str:
    """`text` cut to at most `limit` bytes of UTF-8, never mid-character."""
    data = text.encode("utf-8", errors="ignore")
    if len(data) <= limit:
        return data.decode("utf-8")
    return data[:limit].decode("utf-8", errors="ignore")


def full_text_supported(server_version: str) -> bool:
    """Whether a Milvus of this version (get_server_version()) has the BM25 function: Milvus Lite 3.x
    ('milvus_lite-3.2.2') and servers from 2.5 on; not 2.3.5 ('v2.3.5-lite', the PyPI embedded server)."""
    found = re.search(r"(\d+)\.(\d+)", server_version or "")
    if found is None:
        return False
    major, minor = int(found.group(1)), int(found.group(2))
    if server_version.startswith("milvus_lite"):
        return major >= 3
    return (major, minor) >= (2, 5)


def text_field_options(full_text: bool = False) -> dict[str, Any]:
    """Options of the pages collection's `text` VARCHAR (the same with or without full-text search)."""
    return {"max_length": MAX_TEXT_BYTES, "default_value": ""}


def add_bm25(schema: Any, index: Any) -> None:
    """The terms field, the sparse field Milvus fills from it by BM25, its function and its index."""
    from pymilvus import DataType, Function, FunctionType

    schema.add_field(
        TERMS_FIELD,
        DataType.VARCHAR,
        max_length=MAX_TEXT_BYTES,
        default_value="",
        enable_analyzer=True,
        analyzer_params=ANALYZER,
    )
    schema.add_field(SPARSE_FIELD, DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(
            name="text_bm25",
            function_type=FunctionType.BM25,
            input_field_names=[TERMS_FIELD],
            output_field_names=[SPARSE_FIELD],
        )
    )
    index.add_index(field_name=SPARSE_FIELD, index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")


class TextIndex:
    """Reads page text and runs Milvus' full-text search on one store's pages collection."""

    def __init__(self, store: MilvusStore) -> None:
        self.store = store
        self._engine: str | None = None

    @property
    def engine(self) -> str:
        """MILVUS_ENGINE where the pages collection has the BM25 field, else LOCAL_ENGINE."""
        if self._engine is None:
            described = self.store._call("describe_collection", self.store.pages)
            names = {f.get("name") for f in described.get("fields", [])}
            self._engine = MILVUS_ENGINE if SPARSE_FIELD in names else LOCAL_ENGINE
        return self._engine

    def fields(self) -> list[str]:
        """The text fields a page row carries (what an upsert of a whole row must include)."""
        return [TEXT_FIELD, TERMS_FIELD] if self.engine == MILVUS_ENGINE else [TEXT_FIELD]

    def row(self, text: str) -> dict[str, str]:
        """The text fields of a page row for a page with this text."""
        row = {TEXT_FIELD: fit_text(text)}
        if self.engine == MILVUS_ENGINE:
            from pagelens.search.terms import analyze

            row[TERMS_FIELD] = fit_text(" ".join(analyze(text)))
        return row

    def count_with_text(self, content_hashes: Sequence[str]) -> int:
        """Pages of these contents whose text is not empty."""
        hashes = list(content_hashes)
        total = 0
        for start in range(0, len(hashes), ID_BATCH):
            batch = json.dumps(hashes[start : start + ID_BATCH])
            total += self.store.count(self.store.pages, f'content_hash in {batch} and {TEXT_FIELD} != ""')
        return total

    def texts(self, page_ids: Sequence[int]) -> dict[int, str]:
        """page id -> stored text, for those of `page_ids` that exist."""
        return dict(self.iter_texts(page_ids))

    def iter_texts(self, page_ids: Sequence[int]) -> Iterator[tuple[int, str]]:
        ids = list(page_ids)
        for start in range(0, len(ids), ID_BATCH):
            rows = self.store._query_all(
                self.store.pages,
                f"page_id in {json.dumps(ids[start : start + ID_BATCH])}",
                ["page_id", TEXT_FIELD],
            )
            for row in rows:
                yield int(row["page_id"]), str(row.get(TEXT_FIELD) or "")

    def search(
        self, terms: Sequence[str], limit: int, page_ids: Sequence[int] | None = None
    ) -> list[tuple[int, float]]:
        """(page id, BM25 score) of the best `limit` pages for these search terms (search/terms.py), best
        first; only pages in `page_ids` when given (at most ID_FILTER_MAX). Pages without a term are left out."""
        query = " ".join(terms)
        if not query.strip() or limit <= 0:
            return []
        expression = ""
        if page_ids is not None:
            if not page_ids:
                return []
            if len(page_ids) > ID_FILTER_MAX:
                raise ValueError(f"at most {ID_FILTER_MAX} page ids per text search")
            expression = f"page_id in {json.dumps([int(p) for p in page_ids])}"
            limit = min(limit, len(page_ids))
        result = self.store._call(
            "search",
            self.store.pages,
            data=[query],
            anns_field=SPARSE_FIELD,
            limit=min(limit, MAX_LIMIT),
            filter=expression,
            output_fields=["page_id"],
            search_params={"metric_type": "BM25"},
        )
        hits = result[0] if result else []
        # Milvus Lite reports BM25 as a negative distance, servers as a positive score: the size is the score
        scored = [(int(hit["page_id"]), abs(float(hit["distance"]))) for hit in hits]
        return [item for item in scored if item[1] > 0]
