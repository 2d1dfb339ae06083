"""The LangChain retriever through langchain_core's own interfaces (invoke, ainvoke, batch, a runnable
chain), on a real Milvus Lite index of generated sample pages embedded by FakeEmbedder."""

from __future__ import annotations

import asyncio
import base64
import io
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("langchain_core")

from langchain_core.documents import Document  # noqa: E402
from langchain_core.runnables import RunnableLambda  # noqa: E402
from PIL import Image  # noqa: E402
from pydantic import ValidationError  # noqa: E402

import pagelens  # noqa: E402
from fakes import FakeEmbedder  # noqa: E402
from pagelens.errors import MissingDependencyError  # noqa: E402
from pagelens.integrations.langchain import PagelensRetriever  # noqa: E402

SERVED = ("annual_report.pdf", "sales_chart.png", "invoice_scan.jpg")
QUERY = "quarterly revenue table"


@pytest.fixture(scope="module")
def docs(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("langchain_docs")
    for name in SERVED:
        shutil.copy(samples / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def index(docs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[pagelens.Index]:
    folder = tmp_path_factory.mktemp("langchain_index") / "index"
    with pagelens.open(folder, embedder=FakeEmbedder()) as opened:
        assert opened.add([docs], progress=False, metadata={"collection": "samples"}).pages_added == 8
        yield opened


def test_invoke_returns_one_document_per_page_best_first(index: pagelens.Index) -> None:
    documents = PagelensRetriever(index=index, k=3).invoke(QUERY)
    hits = index.search(QUERY, k=3)
    assert all(isinstance(document, Document) for document in documents)
    assert [document.id for document in documents] == [str(hit.page_id) for hit in hits]
    for document, hit in zip(documents, hits, strict=True):
        assert document.page_content == (hit.snippet or "")  # the page's text around the query terms
        assert document.metadata == {
            "collection": "samples",
            "path": hit.path,
            "page": hit.page,
            "score": round(hit.score, 6),
            "page_id": str(hit.page_id),
            "rank": hit.rank,
        }


def test_include_image_attaches_the_page_as_base64_png(index: pagelens.Index) -> None:
    retriever = PagelensRetriever(index=index, k=2, include_image=True, image_side=160)
    for document in retriever.invoke("bar chart of sales"):
        assert document.metadata["image_mime_type"] == "image/png"
        image = Image.open(io.BytesIO(base64.b64decode(document.metadata["image_base64"])))
        assert image.format == "PNG" and max(image.size) == 160


def test_ainvoke_and_abatch_agree_with_invoke(index: pagelens.Index) -> None:
    retriever = PagelensRetriever(index=index, k=4, filter={"path": "*.pdf"})
    queries = [QUERY, "invoice total", "sales by region"]
    expected = [[d.id for d in retriever.invoke(query)] for query in queries]

    async def main() -> tuple[list[Document], list[list[Document]]]:
        return await retriever.ainvoke(QUERY), await retriever.abatch(queries)

    single, batched = asyncio.run(main())
    assert [d.id for d in single] == expected[0]
    assert [[d.id for d in documents] for documents in batched] == expected
    assert all(Path(d.metadata["path"]).name == "annual_report.pdf" for d in single)


def test_runs_inside_a_runnable_chain(index: pagelens.Index) -> None:
    chain = PagelensRetriever(index=index, k=3) | RunnableLambda(
        lambda documents: [(Path(d.metadata["path"]).name, d.metadata["page"]) for d in documents]
    )
    assert chain.invoke(QUERY) == [(Path(hit.path).name, hit.page) for hit in index.search(QUERY, k=3)]


def test_a_page_whose_source_moved_keeps_its_hit(index: pagelens.Index, docs: Path) -> None:
    (docs / "sales_chart.png").rename(docs / "moved.png")
    try:
        retriever = PagelensRetriever(
            index=index, k=1, include_image=True, filter={"path": "*sales_chart.png"}
        )
        [document] = retriever.invoke("chart")
    finally:
        (docs / "moved.png").rename(docs / "sales_chart.png")
    assert "image_base64" not in document.metadata
    assert "no longer readable" in document.metadata["image_error"]


def test_options_are_validated(index: pagelens.Index) -> None:
    with pytest.raises(ValidationError):
        PagelensRetriever(index=index, k=0)
    with pytest.raises(ValidationError):
        PagelensRetriever(index=index, image_side=10)


def test_without_the_extra_the_import_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import pagelens.integrations

    monkeypatch.setitem(sys.modules, "langchain_core.retrievers", None)
    monkeypatch.delitem(sys.modules, "pagelens.integrations.langchain")
    monkeypatch.delattr(pagelens.integrations, "langchain", raising=False)
    with pytest.raises(MissingDependencyError, match=r"pip install 'pagelens\[langchain\]'") as caught:
        import pagelens.integrations.langchain  # noqa: F401
    assert caught.value.extra == "langchain"
