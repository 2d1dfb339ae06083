"""A `--where` that can match nothing says why (issue 18, point 6): a key no page has, or a value of another
type than the stored ones (a number against text, as a metadata.csv column is stored). Real Milvus Lite."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import pagelens
from pagelens.cli import main
from pagelens.search.filters import explain_no_match


@pytest.fixture
def index_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    rng = np.random.default_rng(7)
    records = [
        {"path": f"doc{i}.pdf", "page": 1, "embedding": rng.normal(size=(4, 128)), "metadata": meta}
        for i, meta in enumerate(
            [{"year": 2021, "lang": "en"}, {"year": 2023, "lang": "de"}, {"year": 2024, "code": "2024"}]
        )
    ]
    with pagelens.open(tmp_path / "index") as index:
        index.add_embeddings(records)
    monkeypatch.setenv("PAGELENS_INDEX", str(tmp_path / "index"))
    return tmp_path / "index"


def test_explain_no_match() -> None:
    pages = [{"year": 2021, "lang": "en"}, {"year": 2024, "code": "2024"}]
    assert explain_no_match({"year": {">=": 2022}}, pages) is None
    assert "no indexed page has the metadata key 'yeer'" in str(explain_no_match({"yeer": 2022}, pages))
    reason = str(explain_no_match({"code": {">=": 2022}}, pages))
    assert "'code' holds text (e.g. \"2024\"), not numbers" in reason
    assert explain_no_match({"lang": {"in": ["en", "de"]}}, pages) is None
    assert "not numbers" in str(explain_no_match({"lang": {"in": ["en", 3]}}, pages))


def test_cli_where_errors_say_why(index_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    query = ["similar", "doc0.pdf", "--page", "1", "--json"]
    assert main([*query, "--where", "year>=2022"]) == 0
    assert {r["path"] for r in json.loads(capsys.readouterr().out)["results"]} == {"doc1.pdf", "doc2.pdf"}
    assert main([*query, "--where", "yeer>=2022"]) == 2
    err = capsys.readouterr().err
    assert "no indexed page has the metadata key 'yeer'" in err and "year" in err
    assert main([*query, "--where", "code>=2022"]) == 2
    assert "'code' holds text" in capsys.readouterr().err
    assert main([*query, "--where", 'code="2024"']) == 0
    assert [r["path"] for r in json.loads(capsys.readouterr().out)["results"]] == ["doc2.pdf"]
