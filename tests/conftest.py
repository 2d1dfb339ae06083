"""Shared fixtures: the shared corpus beside the repo, and indexes in real Milvus Lite folders."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PAGELENS_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus"


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    return CORPUS


@pytest.fixture
def docs_copy(tmp_path: Path, corpus: Path) -> Path:
    """A private copy of the two byaldi PDFs (tests may change copies, never the corpus)."""
    target = tmp_path / "docs"
    target.mkdir()
    for pdf in sorted((corpus / "docs" / "byaldi").rglob("*.pdf")):
        shutil.copy(pdf, target / pdf.name)
    return target


@pytest.fixture
def fake_index(tmp_path: Path) -> Iterator[Callable[..., object]]:
    """Open indexes in tmp folders with the deterministic FakeEmbedder; closes them at the end."""
    import pagelens
    from fakes import FakeEmbedder

    opened = []

    def make(name: str = "index", **kwargs: object) -> pagelens.Index:
        kwargs.setdefault("embedder", FakeEmbedder())
        index = pagelens.open(tmp_path / name, **kwargs)
        opened.append(index)
        return index

    yield make
    for index in opened:
        index.close()


from tiny_models import tiny_models_fixture  # noqa: E402, F401 - the `tiny_models` fixture for every test
