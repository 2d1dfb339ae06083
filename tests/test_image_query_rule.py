"""One rule for image queries (issue 18, point 5): `image=`, a Path or a PIL image is an image; a str is
always text, and a str naming an existing image file is refused with a hint. Real index, FakeEmbedder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from pagelens.cli import main
from pagelens.errors import UsageError
from pagelens.search.maxsim import maxsim


@pytest.fixture
def index(fake_index, samples: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("sales_chart.png", "invoice_scan.jpg", "climate_brief.pdf"):
        shutil.copy(samples / name, docs / name)
    index = fake_index()
    assert index.add([docs]).ok
    return index


def test_image_keyword_path_and_pil_are_the_same_image_query(index, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    chart = tmp_path / "docs" / "sales_chart.png"
    by_keyword = index.search(image=str(chart), k=3, exact=True)
    with Image.open(chart) as opened:  # it was searched as an image: its own page scores its MaxSim
        query = index.embedder.embed_images([opened.convert("RGB")])[0]
    own = next(h for h in by_keyword if h.path == str(chart.resolve()))
    assert own.score == pytest.approx(maxsim(query, index.page_vectors(own.page_id)), abs=1e-4)
    by_path = index.search(chart, k=3, exact=True)
    with Image.open(chart) as opened:
        by_pil = index.search(image=opened, k=3, exact=True)
    for hits in (by_path, by_pil):
        assert [(h.page_id, round(h.score, 4)) for h in hits] == [
            (h.page_id, round(h.score, 4)) for h in by_keyword
        ]


def test_a_str_naming_an_image_file_is_refused_not_searched_as_text(index, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    chart = str(tmp_path / "docs" / "sales_chart.png")
    with pytest.raises(UsageError, match=r"str is always a text query.*image=") as error:
        index.search(chart)
    assert chart in str(error.value)
    with pytest.raises(UsageError, match="image="):
        index.search_many(["revenue", chart])
    # text that only looks like a file name, or names no file, is text
    assert len(index.search("chart.png", k=2)) == 2
    assert len(index.search(str(tmp_path / "missing.png"), k=2)) == 2
    assert len(index.search(str(tmp_path / "docs" / "climate_brief.pdf"), k=2)) == 2  # not an image
    with pytest.raises(UsageError, match="not both"):
        index.search("revenue", image=chart)
    with pytest.raises(UsageError, match="give a text query"):
        index.search()


def test_the_cli_searches_images_with_image(index, tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from fakes import FakeEmbedder

    location = str(index.location.local_dir)
    index.close()
    monkeypatch.setattr("pagelens.embed.load_embedder", lambda *args, **kwargs: FakeEmbedder())
    chart = str(tmp_path / "docs" / "sales_chart.png")
    assert main(["search", "--image", chart, "--index", location, "--json", "--exact"]) == 0
    assert '"query_type": "image"' in capsys.readouterr().out
    assert main(["search", chart, "--index", location]) == 2
    err = capsys.readouterr().err
    assert "image=" in err and "--image" in err
