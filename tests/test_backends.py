"""Backend plugins (the `pagelens.backends` entry-point group), clear errors for a family that cannot be
imported, and embedding sizes other than 128 end to end (store, search, export/import)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import pagelens
from pagelens.embed import registry
from pagelens.embed.registry import BackendSpec
from pagelens.errors import ModelError
from tiny_models import TINY_DIMS, tiny_models_fixture, write_config  # noqa: F401

PLUGIN_MODULE = """
from pagelens.embed.registry import BackendSpec

SPEC = BackendSpec(
    "toy-retriever",
    "ToyRetriever via a plugin",
    "pagelens.embed.transformers_backend:TransformersEmbedder",
    "toy_missing_lib:ToyRetriever",
    "toy_missing_lib:ToyProcessor",
    "longest_edge",
    model_types=("toy_retriever",),
    model_type_suffices=True,
    library="toy-missing-lib",
)
"""


@pytest.fixture
def plugin(tmp_path: Path) -> Iterator[None]:
    """A real installed distribution (a dist-info folder on sys.path) that declares a backend entry point."""
    site = tmp_path / "site"
    (site / "toy_plugin").mkdir(parents=True)
    (site / "toy_plugin" / "__init__.py").write_text(PLUGIN_MODULE)
    info = site / "toy_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[pagelens.backends]\ntoy = toy_plugin:SPEC\n")
    sys.path.insert(0, str(site))
    registry.reload_plugins()
    try:
        yield
    finally:
        sys.path.remove(str(site))
        sys.modules.pop("toy_plugin", None)
        registry.reload_plugins()


def test_plugin_backend_is_selected_from_config(plugin: None, tmp_path: Path) -> None:
    from pagelens.embed.checkpoint import locate_checkpoint

    assert "toy-retriever" in registry.backends()
    assert "toy-retriever" not in registry.BACKENDS  # the built-in table was not edited
    folder = write_config(tmp_path / "toy", {"model_type": "toy_retriever"})
    spec = registry.select_backend(locate_checkpoint(str(folder)))
    assert isinstance(spec, BackendSpec) and spec.key == "toy-retriever"
    assert "ToyRetriever" in registry.supported_models()


def test_family_that_cannot_be_imported_names_the_missing_piece(plugin: None, tmp_path: Path) -> None:
    folder = write_config(tmp_path / "toy", {"model_type": "toy_retriever"})
    with pytest.raises(ModelError) as info:
        pagelens.embed.load_embedder(str(folder), device="cpu")
    message = str(info.value)
    assert "toy_missing_lib.ToyRetriever" in message and "toy-missing-lib is not installed" in message


def test_plain_neomme_backbone_is_refused(tmp_path: Path) -> None:
    from pagelens.embed.checkpoint import locate_checkpoint
    from pagelens.errors import UnsupportedModelError

    folder = write_config(
        tmp_path / "neomme", {"model_type": "neomme", "architectures": ["NeoMMEForMaskedLM"]}
    )
    with pytest.raises(UnsupportedModelError, match="NeoMMEForRetrieval"):
        registry.select_backend(locate_checkpoint(str(folder)))


def _pages() -> list[Image.Image]:
    rng = np.random.default_rng(7)
    return [Image.fromarray(rng.integers(0, 255, (64, 48, 3), dtype=np.uint8)) for _ in range(4)]


@pytest.mark.parametrize("family", ["colqwen3", "colqwen3_5"])
def test_non_128_dim_index_search_export_import(
    family: str, tiny_models: Callable[[str], Path], tmp_path: Path
) -> None:
    """320-d (ColQwen3) and 512-d (ColQwen3.5) vectors: stored, searched exactly like brute force, exported
    and imported without re-embedding."""
    dim = TINY_DIMS[family]
    pages = tmp_path / "pages"
    pages.mkdir()
    for number, image in enumerate(_pages()):
        image.save(pages / f"page{number}.png")
    index = pagelens.open(tmp_path / "index", model=str(tiny_models(family)), device="cpu")
    try:
        report = index.add([str(pages)], progress=False)
        assert not report.failed
        assert index.info.dim == dim and index.embedder.dim == dim
        query = "revenue chart"
        hits = index.search(query, k=4, exact=True)
        assert len(hits) == 4
        query_vectors = index.embedder.embed_queries([query])[0]
        assert query_vectors.shape[1] == dim
        page_vectors = index.embedder.embed_images(
            [Image.open(pages / Path(hit.path).name).convert("RGB") for hit in hits]
        )
        expected = [float((query_vectors @ p.T).max(axis=1).sum()) for p in page_vectors]
        np.testing.assert_allclose([hit.score for hit in hits], expected, atol=0.05)  # bfloat16 storage
        assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
        index.export(tmp_path / "export")
    finally:
        index.close()
    copy = pagelens.open(tmp_path / "copy", model=str(tiny_models(family)), device="cpu")
    try:
        copy.import_(tmp_path / "export")
        assert copy.info.dim == dim
        again = copy.search(query, k=4, exact=True)
        assert [(h.path, h.page) for h in again] == [(h.path, h.page) for h in hits]
    finally:
        copy.close()
