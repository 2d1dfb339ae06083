"""Text alongside pixels (issue 17), through the library on real Milvus Lite folders and generated sample
PDFs (which have text layers): text stored per page, status counts, text / hybrid / visual modes, filters,
snippets, the local bm25s engine. The fake embedder stands in for the model (the text channel is real)."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pypdfium2
import pytest

import pagelens
from conftest import PAPER, REPORT
from pagelens.errors import UsageError
from pagelens.search.hybrid import RRF_K
from pagelens.search.terms import analyze
from pagelens.sources.text import PdfText, fit_text
from pagelens.store.text_index import LOCAL_ENGINE, MILVUS_ENGINE, full_text_supported


def _layer(folder: Path) -> dict[tuple[str, int], str]:
    """(resolved path, page) -> the text layer, read straight from each PDF with pypdfium2."""
    texts = {}
    for pdf in sorted(folder.glob("*.pdf")):
        with PdfText(str(pdf)) as reader:
            for number in range(1, len(pypdfium2.PdfDocument(str(pdf))) + 1):
                texts[(str(pdf.resolve()), number)] = reader.page(number)
    return texts


def _unique_word(texts: dict[tuple[str, int], str]) -> tuple[str, tuple[str, int]]:
    """A longish word that occurs on exactly one page (by its stem), and that page."""
    pages_of: dict[str, set[tuple[str, int]]] = {}
    for key, text in texts.items():
        for word in re.findall(r"[A-Za-z]{8,}", text):
            pages_of.setdefault(analyze(word)[0], set()).add(key)
    for word in sorted({w for text in texts.values() for w in re.findall(r"[A-Za-z]{8,}", text)}):
        found = pages_of[analyze(word)[0]]
        if len(found) == 1:
            return word, next(iter(found))
    raise AssertionError("no word occurs on one page only")


@pytest.fixture
def indexed(fake_index, docs_copy: Path, samples: Path, monkeypatch: pytest.MonkeyPatch) -> pagelens.Index:
    monkeypatch.setenv("PAGELENS_OCR", "off")  # the text layer only, whether or not OCR is installed here
    shutil.copy(samples / "inspection_scan.pdf", docs_copy / "inspection_scan.pdf")  # no text layer
    index = fake_index()
    report = index.add([docs_copy], progress=False)
    assert report.ok, report.failed
    return index


def test_text_is_stored_per_page_and_counted(indexed: pagelens.Index, docs_copy: Path) -> None:
    layer = _layer(docs_copy)
    status = indexed.status()
    assert status.pages == len(layer)
    assert status.pages_with_text == sum(1 for t in layer.values() if t) < status.pages
    assert status.text_search == MILVUS_ENGINE  # Milvus Lite 3.2.2 has the BM25 function
    as_json = status.to_dict()
    assert as_json["pages_with_text"] == status.pages_with_text and "ocr" in as_json
    stored = indexed.text_search.index.texts([p.page_id for p in indexed.catalog.pages])
    for record in indexed.catalog.pages:
        assert stored[record.page_id] == layer[(indexed.catalog.path_of(record), record.page)]


def test_reindexing_an_unchanged_file_redoes_nothing(indexed: pagelens.Index, docs_copy: Path) -> None:
    before = indexed.status().pages_with_text
    report = indexed.add([docs_copy], progress=False)
    assert report.pages_added == 0 and report.documents_unchanged == 3
    assert indexed.status().pages_with_text == before


def test_text_mode_finds_a_page_by_a_word_only_in_its_text(indexed: pagelens.Index, docs_copy: Path) -> None:
    word, (path, page) = _unique_word(_layer(docs_copy))
    hits = indexed.search(word.lower(), k=5, mode="text")
    assert hits and (hits[0].path, hits[0].page) == (path, page)
    assert len(hits) == 1  # no other page holds the term
    assert hits[0].mode == "text" and hits[0].text_score == hits[0].score > 0
    assert hits[0].visual_score is None
    assert f"**{word}**".lower() in (hits[0].snippet or "").lower()


def test_text_mode_needs_no_model(indexed: pagelens.Index, docs_copy: Path) -> None:
    word, (path, page) = _unique_word(_layer(docs_copy))
    folder = indexed.location.local_dir
    indexed.close()
    with pagelens.open(folder, create=False) as reopened:  # the index's model is not loadable here
        hits = reopened.search(word, k=3, mode="text")
        assert (hits[0].path, hits[0].page) == (path, page)
        assert reopened._embedder is None


def test_word_forms_match_and_stopwords_do_not(indexed: pagelens.Index) -> None:
    singular = indexed.search("region", k=10, mode="text")
    plural = indexed.search("regions", k=10, mode="text")
    assert [h.page_id for h in singular] == [h.page_id for h in plural] and singular
    assert indexed.search("the of and", k=5, mode="text") == []


def test_hybrid_fuses_both_rankings_by_rrf(indexed: pagelens.Index) -> None:
    query = "revenue by region"
    hybrid = indexed.search(query, k=5, mode="hybrid")
    visual = indexed.search(query, k=100, mode="visual")
    text = indexed.search(query, k=100, mode="text")
    visual_rank = {h.page_id: h.rank for h in visual}
    text_rank = {h.page_id: h.rank for h in text}
    assert len(hybrid) == 5
    for hit in hybrid:
        expected = 1 / (RRF_K + visual_rank[hit.page_id])
        if hit.page_id in text_rank:
            expected += 1 / (RRF_K + text_rank[hit.page_id])
        assert hit.score == pytest.approx(expected)
        assert hit.visual_score == pytest.approx(next(v.score for v in visual if v.page_id == hit.page_id))
        assert hit.text_score is not None and hit.mode == "hybrid"
    assert [h.score for h in hybrid] == sorted((h.score for h in hybrid), reverse=True)
    both = {h.page_id for h in visual[:5]} | {h.page_id for h in text[:5]}
    assert {h.page_id for h in hybrid} <= both | set(text_rank)


def test_default_mode_is_hybrid_with_text_and_visual_without(fake_index, indexed: pagelens.Index) -> None:
    assert indexed.search("revenue", k=3)[0].mode == "hybrid"
    import numpy as np

    bare = fake_index("bare")
    bare.add_embeddings([{"path": "a.pdf", "page": 1, "embedding": np.eye(4, 128, dtype=np.float32)}])
    assert bare.search_embedding(np.eye(2, 128, dtype=np.float32), k=1)[0].mode == "visual"
    assert bare.status().pages_with_text == 0


def test_modes_are_checked(indexed: pagelens.Index, samples: Path) -> None:
    with pytest.raises(UsageError, match="mode must be one of"):
        indexed.search("revenue", mode="fuzzy")
    with pytest.raises(UsageError, match="visually only"):
        indexed.search(image=samples / "sales_chart.png", mode="text")


def test_filters_apply_to_text_and_hybrid(indexed: pagelens.Index, docs_copy: Path) -> None:
    report = str((docs_copy / REPORT).resolve())
    for mode in ("text", "hybrid"):
        unfiltered = indexed.search("page images retrieval revenue", k=20, mode=mode)
        assert {h.path for h in unfiltered} >= {report, str((docs_copy / PAPER).resolve())}
        only = indexed.search("page images retrieval revenue", k=20, mode=mode, filter={"path": f"*{REPORT}"})
        assert only and {h.path for h in only} == {report}
        pages = indexed.search("revenue", k=20, mode=mode, filter={"path": f"*{REPORT}", "pages": (3, 4)})
        assert {h.page for h in pages} <= {3, 4} and pages


def test_search_many_in_text_mode(indexed: pagelens.Index) -> None:
    results = indexed.search_many(["revenue", "attention heads"], k=2, mode="text")
    assert [len(r) for r in results] == [2, 2]
    assert results[0][0].path.endswith(REPORT) and results[1][0].path.endswith(PAPER)


def test_snippets_mark_terms_within_the_bound(indexed: pagelens.Index) -> None:
    for hit in indexed.search("quarterly revenue growth", k=6, mode="hybrid"):
        assert hit.snippet is None or len(hit.snippet) <= 1000
    hit = indexed.search("quarterly revenue", k=1, mode="text")[0]
    assert hit.snippet and 40 <= len(hit.snippet) <= 1000
    marked = Counter(m.lower() for m in re.findall(r"\*\*(.+?)\*\*", hit.snippet))
    assert marked and {analyze(m)[0] for m in marked} <= set(analyze("quarterly revenue"))  # forms count
    assert "quarterly" in marked and "revenue" in marked


def test_local_bm25s_engine_ranks_like_milvus(indexed: pagelens.Index, docs_copy: Path) -> None:
    """The engine for servers without BM25 (Milvus 2.3.5), run here over the same stored text."""
    word, (path, page) = _unique_word(_layer(docs_copy))
    milvus = [h.page_id for h in indexed.search("revenue region", k=3, mode="text")]
    indexed.text_search.index._engine = LOCAL_ENGINE
    local = indexed.search(word, k=3, mode="text")
    assert (local[0].path, local[0].page) == (path, page) and len(local) == 1
    assert [h.page_id for h in indexed.search("revenue region", k=3, mode="text")][:1] == milvus[:1]
    filtered = indexed.search("revenue", k=20, mode="text", filter={"path": f"*{PAPER}"})
    assert all(h.path.endswith(PAPER) for h in filtered)


def test_text_is_cut_by_bytes_not_characters() -> None:
    text = "é" * 40_000  # 80,000 bytes of UTF-8
    cut = fit_text(text)
    assert len(cut.encode()) <= 65_535 and cut == "é" * 32_767
    assert fit_text("plain") == "plain"
    assert len(fit_text("a€" * 30_000).encode()) <= 65_535


def test_which_milvus_has_full_text_search() -> None:
    assert full_text_supported("milvus_lite-3.2.2")
    assert full_text_supported("v2.5.4") and full_text_supported("v2.6.0")
    assert not full_text_supported("v2.3.5-lite") and not full_text_supported("v2.4.9")
    assert not full_text_supported("")
