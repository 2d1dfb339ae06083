"""Text retrieval over the pages' own text, by a real BM25 engine.

- Milvus' full-text search where the index has it (store/text_index.py: Milvus Lite 3.x, servers >= 2.5):
  Milvus ranks the pages' stored terms; page restrictions (filters) go to Milvus with the query.
- Otherwise (Milvus 2.3.5 / 2.4 servers, no BM25 function) the `bm25s` library, in this process, over the
  live pages' stored text, tokenized by search/terms.py; built on first text search and again when the
  live pages change.
Both return only live pages (the catalog's), best first, ties broken by page id, and never a page that
holds none of the query's terms. Query and pages are reduced to the same terms (search/terms.py: stemmed, no stopwords).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from pagelens.search.catalog import Catalog
from pagelens.search.retriever import Scored
from pagelens.search.terms import analyze, query_words, term_of
from pagelens.store.text_index import ID_FILTER_MAX, MAX_LIMIT, MILVUS_ENGINE, TextIndex

if TYPE_CHECKING:
    from pagelens.store.milvus import MilvusStore

log = logging.getLogger(__name__)

FIRST_LIMIT = 64  # unrestricted Milvus text searches ask for max(this, 4k) pages, then widen if short


class TextSearch:
    """Ranks a catalog's live pages for a text query (see the module docstring for the engines)."""

    def __init__(self, store: MilvusStore) -> None:
        self.index = store.text_index
        self._local: _LocalBM25 | None = None

    @property
    def engine(self) -> str:
        """'milvus-bm25' or 'bm25s'."""
        return self.index.engine

    def search(
        self, query: str, k: int, catalog: Catalog, allowed: Iterable[int] | None = None
    ) -> list[Scored]:
        """The best `k` live pages for `query` by BM25, best first; only pages in `allowed` when given."""
        terms = [t for t in (term_of(w) for w in query_words(query)) if t]
        if not terms or k <= 0:
            return []
        ids = None if allowed is None else [p for p in allowed if p in catalog.by_id]
        if ids is not None and not ids:
            return []
        if self.engine == MILVUS_ENGINE:
            found = self._milvus(terms, k, catalog, ids)
        else:
            found = self._bm25s(terms, k, catalog, ids)
        found.sort(key=lambda s: (-s.score, s.page_id))
        return found[:k]

    def scores_of(self, query: str, page_ids: Sequence[int], catalog: Catalog) -> dict[int, float]:
        """BM25 scores of these pages (0.0 for a page with none of the query's terms)."""
        scores = {p: 0.0 for p in page_ids}
        for item in self.search(query, len(page_ids), catalog, page_ids):
            scores[item.page_id] = item.score
        return scores

    def _milvus(self, terms: list[str], k: int, catalog: Catalog, ids: list[int] | None) -> list[Scored]:
        if ids is not None and len(ids) <= ID_FILTER_MAX:  # the restriction goes into Milvus' search
            return [Scored(p, s) for p, s in self.index.search(terms, k, ids) if p in catalog.by_id]
        wanted = None if ids is None else set(ids)
        limit = min(MAX_LIMIT, max(FIRST_LIMIT, 4 * k))
        while True:  # pages outside the catalog (uncommitted) or the restriction are dropped: widen if short
            found = self.index.search(terms, limit)
            kept = [Scored(p, s) for p, s in found if p in catalog.by_id and (wanted is None or p in wanted)]
            if len(kept) >= k or len(found) < limit or limit >= MAX_LIMIT:
                return kept
            limit = min(MAX_LIMIT, limit * 4)

    def _bm25s(self, terms: list[str], k: int, catalog: Catalog, ids: list[int] | None) -> list[Scored]:
        if self._local is None or not self._local.serves(catalog):
            self._local = _LocalBM25.build(self.index, catalog)
        return self._local.search(terms, k, ids)


class _LocalBM25:
    """bm25s over the text of one set of live pages."""

    def __init__(self, page_ids: np.ndarray, engine: Any, key: int) -> None:
        self.page_ids = page_ids
        self.engine = engine
        self.key = key
        self.position = {int(p): i for i, p in enumerate(page_ids.tolist())}

    @staticmethod
    def _key(catalog: Catalog) -> int:
        return hash(tuple(p.page_id for p in catalog.pages))

    def serves(self, catalog: Catalog) -> bool:
        return self.key == self._key(catalog)

    @classmethod
    def build(cls, index: TextIndex, catalog: Catalog) -> _LocalBM25:
        import bm25s

        ids = [p.page_id for p in catalog.pages]
        texts = index.texts(ids)
        log.info("building the local BM25 index over %d page(s)", len(ids))
        engine = bm25s.BM25()
        if ids:
            engine.index([analyze(texts.get(p, "")) for p in ids], show_progress=False)
        return cls(np.asarray(ids, dtype=np.int64), engine if ids else None, cls._key(catalog))

    def search(self, terms: list[str], k: int, ids: list[int] | None) -> list[Scored]:
        if self.engine is None or not terms:
            return []
        scores = np.asarray(self.engine.get_scores(terms), dtype=np.float64)
        if ids is not None:
            mask = np.zeros(len(scores), dtype=bool)
            mask[[self.position[p] for p in ids if p in self.position]] = True
            scores = np.where(mask, scores, 0.0)
        hits = np.flatnonzero(scores > 0)
        best = hits[np.lexsort((self.page_ids[hits], -scores[hits]))][:k]
        return [Scored(int(self.page_ids[i]), float(scores[i])) for i in best]
