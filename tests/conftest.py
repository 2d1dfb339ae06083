"""Shared fixtures: sample documents the project generates itself, indexes in real Milvus Lite folders,
and (for the `corpus` tier only) the real third-party documents in ../shared/corpus."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# the session's one real Milvus server (`milvus_server`), shared by every module that asks for it
pytest_plugins = ["milvus_server"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PAGELENS_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus"
# the two PDFs `docs_copy` holds: a 6-page annual report and an 8-page research paper
REPORT, PAPER = "annual_report.pdf", "retrieval_paper.pdf"


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated sample documents (pagelens.samples), written once per session: PDFs with tables and
    charts, a scanned PDF, a JPEG scan and a PNG chart. Tests copy what they change."""
    from pagelens.samples import write_samples

    folder = tmp_path_factory.mktemp("samples")
    write_samples(folder)
    return folder


@pytest.fixture(scope="session")
def broken_samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated bad files (pagelens.samples.BROKEN): truncated, encrypted, zero pages, garbage, ..."""
    from pagelens.samples import write_broken_samples

    folder = tmp_path_factory.mktemp("broken")
    write_broken_samples(folder)
    return folder


@pytest.fixture
def docs_copy(tmp_path: Path, samples: Path) -> Path:
    """A private copy of two generated sample PDFs, REPORT (6 pages) and PAPER (8 pages): tests may change
    the copies."""
    target = tmp_path / "docs"
    target.mkdir()
    for name in (REPORT, PAPER):
        shutil.copy(samples / name, target / name)
    return target


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The real third-party corpus, for tests marked `corpus` (run with `-m corpus`): missing is a failure."""
    if not CORPUS.is_dir():
        pytest.fail(
            f"the corpus tier needs the shared corpus at {CORPUS} (set PAGELENS_SHARED to the folder holding "
            "corpus/); the default test run does not use it"
        )
    return CORPUS


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


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that asks for the real corpus is in the corpus tier, and one that builds or loads a tiny real
    model (the `tiny_models` fixture) is end to end (`e2e`), marked or not."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "corpus" in fixtures and not item.get_closest_marker("corpus"):
            item.add_marker(pytest.mark.corpus)
        if "tiny_models" in fixtures and not item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.e2e)


from tiny_models import tiny_models_fixture  # noqa: E402, F401 - the `tiny_models` fixture for every test
