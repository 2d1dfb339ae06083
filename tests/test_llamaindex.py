"""The LlamaIndex retriever through llama-index-core's own interface (retrieve, aretrieve, QueryBundle),
on a real Milvus Lite index of generated sample pages embedded by FakeEmbedder."""

from __future__ import annotations

import asyncio
import base64
import io
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("llama_index.core")

from llama_index.core.schema import ImageNode, MetadataMode, NodeWithScore, QueryBundle  # noqa: E402
from PIL import Image  # noqa: E402

import pagelens  # noqa: E402
from fakes import FakeEmbedder  # noqa: E402
from pagelens.errors import MissingDependencyError, UsageError  # noqa: E402
from pagelens.integrations.llamaindex import PagelensRetriever  # noqa: E402

SERVED = ("annual_report.pdf", "sales_chart.png", "invoice_scan.jpg")
QUERY = "quarterly revenue table"


@pytest.fixture(scope="module")
def docs(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("llamaindex_docs")
    for name in SERVED:
        shutil.copy(samples / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def index(docs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[pagelens.Index]:
    folder = tmp_path_factory.mktemp("llamaindex_index") / "index"
    with pagelens.open(folder, embedder=FakeEmbedder()) as opened:
        assert opened.add([docs], progress=False, metadata={"collection": "samples"}).pages_added == 8
        yield opened


def test_retrieve_returns_image_nodes_with_scores_best_first(index: pagelens.Index) -> None:
    results = PagelensRetriever(index, k=3, image_side=200).retrieve(QUERY)
    hits = index.search(QUERY, k=3)
    assert all(isinstance(r, NodeWithScore) and isinstance(r.node, ImageNode) for r in results)
    assert [(r.node.node_id, r.score) for r in results] == [(str(h.page_id), h.score) for h in hits]
    for result, hit in zip(results, hits, strict=True):
        node = result.node
        assert isinstance(node, ImageNode)
        assert node.metadata == {
            "collection": "samples",
            "path": hit.path,
            "page": hit.page,
            "score": round(hit.score, 6),
            "page_id": str(hit.page_id),
            "rank": hit.rank,
        }
        assert node.image_mimetype == "image/png" and node.image is not None
        image = Image.open(io.BytesIO(base64.b64decode(node.image)))
        assert image.format == "PNG" and max(image.size) == 200
        seen_by_llm = node.get_content(metadata_mode=MetadataMode.LLM)
        assert f"path: {hit.path}" in seen_by_llm and "score" not in seen_by_llm


def test_aretrieve_and_query_bundles_agree_with_retrieve(index: pagelens.Index) -> None:
    retriever = PagelensRetriever(index, k=4, filter={"path": "*.pdf"}, image="path")
    expected = [r.node.node_id for r in retriever.retrieve(QUERY)]

    async def main() -> list[list[NodeWithScore]]:
        return list(await asyncio.gather(retriever.aretrieve(QUERY), retriever.aretrieve(QueryBundle(QUERY))))

    for results in asyncio.run(main()):
        assert [r.node.node_id for r in results] == expected
    assert len(expected) == 4
    assert all(Path(r.node.metadata["path"]).name == "annual_report.pdf" for r in retriever.retrieve(QUERY))


def test_image_path_mode_leaves_the_bytes_out(index: pagelens.Index, docs: Path) -> None:
    results = PagelensRetriever(index, k=8, image="path").retrieve("chart")
    by_name = {Path(r.node.metadata["path"]).name: r.node for r in results}
    assert set(by_name) == set(SERVED)
    assert all(isinstance(node, ImageNode) and node.image is None for node in by_name.values())
    assert by_name["sales_chart.png"].image_path == str(docs / "sales_chart.png")  # type: ignore[attr-defined]
    assert by_name["annual_report.pdf"].image_path is None  # type: ignore[attr-defined]  # path + page instead


def test_a_page_whose_source_moved_keeps_its_node(index: pagelens.Index, docs: Path) -> None:
    (docs / "sales_chart.png").rename(docs / "moved.png")
    try:
        [result] = PagelensRetriever(index, k=1, filter={"path": "*sales_chart.png"}).retrieve("chart")
    finally:
        (docs / "moved.png").rename(docs / "sales_chart.png")
    assert isinstance(result.node, ImageNode) and result.node.image is None
    assert "no longer readable" in result.node.metadata["image_error"]


def test_options_are_validated(index: pagelens.Index) -> None:
    with pytest.raises(UsageError, match="k must be at least 1"):
        PagelensRetriever(index, k=0)
    with pytest.raises(UsageError, match="image must be"):
        PagelensRetriever(index, image="url")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="image side"):
        PagelensRetriever(index, image_side=10)


def test_without_the_extra_the_import_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import pagelens.integrations

    monkeypatch.setitem(sys.modules, "llama_index.core.schema", None)
    monkeypatch.delitem(sys.modules, "pagelens.integrations.llamaindex")
    monkeypatch.delattr(pagelens.integrations, "llamaindex", raising=False)
    with pytest.raises(MissingDependencyError, match=r"pip install 'pagelens\[llamaindex\]'") as caught:
        import pagelens.integrations.llamaindex  # noqa: F401
    assert caught.value.extra == "llamaindex"
