"""Text and hybrid search through the CLI (in process), `eval --mode`, and the HTTP API (TestClient), over a
real Milvus Lite index of generated sample PDFs built with the fake embedder. Text mode needs no model, so
the CLI runs it on that index as a user would; hybrid goes through HTTP, where the app holds the embedder."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import pagelens
from conftest import PAPER, REPORT
from fakes import FakeEmbedder
from pagelens.cli import main


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as patch:  # the text layer only, whether or not OCR is installed here
        patch.setenv("PAGELENS_OCR", "off")
        yield from _build(tmp_path_factory, samples)


def _build(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("text-surfaces")
    docs = folder / "docs"
    docs.mkdir()
    for name in (REPORT, PAPER):
        shutil.copy(samples / name, docs / name)
    with pagelens.open(folder / "index", embedder=FakeEmbedder()) as index:
        assert index.add([docs], progress=False).ok
    yield folder


def _json(capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    return json.loads(capsys.readouterr().out)


def test_cli_search_mode_text_json(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index = str(built / "index")
    assert main(["search", "attention heads", "--mode", "text", "--index", index, "-k", "3", "--json"]) == 0
    payload = _json(capsys)
    first = payload["results"][0]
    assert first["path"].endswith(PAPER) and first["mode"] == "text"
    assert first["text_score"] == first["score"] > 0 and first["visual_score"] is None
    assert "**attention**" in first["snippet"].lower() and len(first["snippet"]) <= 1000
    assert [r["rank"] for r in payload["results"]] == list(range(1, len(payload["results"]) + 1))


def test_cli_plain_output_shows_the_snippet(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "revenue by region", "--mode", "text", "--index", str(built / "index")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert REPORT in lines[0] and "page 4" in lines[0]
    assert lines[1].startswith("     ") and "**region**" in lines[1].lower()


def test_cli_mode_is_checked_and_not_abbreviated(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index = str(built / "index")
    with pytest.raises(SystemExit) as bad:
        main(["search", "revenue", "--mode", "fuzzy", "--index", index])
    assert bad.value.code == 2
    with pytest.raises(SystemExit) as abbreviated:
        main(["search", "revenue", "--mod", "text", "--index", index])
    assert abbreviated.value.code == 2
    capsys.readouterr()


def test_cli_status_counts_pages_with_text(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--index", str(built / "index"), "--json"]) == 0
    status = _json(capsys)
    assert status["pages"] == 14 and status["pages_with_text"] == 13  # the report's page 5 is a bare chart
    assert status["text_search"] == "milvus-bm25" and "ocr" in status


def test_eval_mode_text(built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    judged = tmp_path / "judged.jsonl"
    rows = [
        {"query": "attention heads", "relevant": [{"path": str(built / "docs" / PAPER), "page": 6}]},
        {"query": "revenue by region", "relevant": [{"path": str(built / "docs" / REPORT), "page": 4}]},
    ]
    judged.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["eval", str(judged), "--mode", "text", "--index", str(built / "index"), "--json"]) == 0
    result = _json(capsys)
    assert result["metrics"]["recall@10"] == 1.0 and result["metrics"]["mrr@10"] > 0.5


@pytest.fixture(scope="module")
def client(built: Path) -> Iterator[object]:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from pagelens.server.app import create_app

    with (
        pagelens.open(built / "index", embedder=FakeEmbedder()) as index,
        TestClient(create_app(index)) as http,
    ):
        yield http


def test_http_mode_text_and_hybrid(client) -> None:  # type: ignore[no-untyped-def]
    text = client.get("/api/search", params={"q": "revenue by region", "k": 3, "mode": "text"})
    assert text.status_code == 200, text.text
    first = text.json()["results"][0]
    assert first["mode"] == "text" and first["path"].endswith(REPORT) and first["page"] == 4
    assert re.search(r"\*\*region\*\*", first["snippet"], re.IGNORECASE)
    hybrid = client.get("/api/search", params={"q": "revenue by region", "k": 3, "mode": "hybrid"}).json()
    for result in hybrid["results"]:
        assert result["mode"] == "hybrid" and result["visual_score"] is not None
        assert result["text_score"] is not None and result["score"] < 1 / 30  # a fused (RRF) score
    default = client.get("/api/search", params={"q": "revenue by region", "k": 3}).json()
    assert [r["page_id"] for r in default["results"]] == [r["page_id"] for r in hybrid["results"]]
    visual = client.get("/api/search", params={"q": "revenue", "k": 2, "mode": "visual"}).json()
    assert all(r["snippet"] is None and r["text_score"] is None for r in visual["results"])
    assert client.get("/api/search", params={"q": "revenue", "mode": "fuzzy"}).status_code == 422


def test_http_status_reports_text(client) -> None:  # type: ignore[no-untyped-def]
    status = client.get("/api/status").json()
    assert status["pages_with_text"] == 13 and status["text_search"] == "milvus-bm25"
