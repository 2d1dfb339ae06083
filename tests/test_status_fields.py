"""`pagelens status` shows how pages are stored: the pool factor and the vector type of the index, in
`Index.status()`, `status --json`, the plain output, the HTTP status and its schema (issue 14)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import pagelens
from conftest import REPORT
from fakes import FakeEmbedder
from pagelens.cli import main
from pagelens.results import storage_lines


def _index(folder: Path, samples: Path, pool_factor: int | None) -> Path:
    docs = folder / "docs"
    docs.mkdir(parents=True)
    shutil.copy(samples / REPORT, docs / REPORT)
    with pagelens.open(folder / "index", embedder=FakeEmbedder()) as index:
        report = index.add([docs], pool_factor=pool_factor, progress=False)
        assert report.ok, report.failed
    return folder / "index"


@pytest.mark.parametrize("factor", [None, 3])
def test_status_reports_pool_factor_and_vector_type(
    tmp_path: Path, samples: Path, factor: int | None, capsys: pytest.CaptureFixture[str]
) -> None:
    index_dir = _index(tmp_path, samples, factor)
    expected = factor or 1
    with pagelens.open(index_dir) as index:
        status = index.status()
        stored = (index.info.pool_factor, index.info.vector_dtype)
    assert (status.pool_factor, status.vector_dtype) == stored == (expected, "bfloat16")
    # pooling really happened: the FakeEmbedder gives 36 vectors a page, factor 3 keeps at most 12 of them
    assert status.vectors <= status.pages * (36 // expected)

    assert main(["status", "--index", str(index_dir), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["pool_factor"], data["vector_dtype"]) == (expected, "bfloat16")
    assert data["vectors"] == status.vectors

    assert main(["status", "--index", str(index_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"pooling:   factor {expected} (" in "\n".join(lines)
    assert "stored as: bfloat16" in lines
    if factor:
        assert any(f"about 1/{factor} of each page's vectors kept" in line for line in lines)
    else:
        assert any("every vector kept" in line for line in lines)


def test_http_status_has_the_same_fields(tmp_path: Path, samples: Path) -> None:
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    from pagelens.server.app import create_app

    index_dir = _index(tmp_path, samples, 2)
    with pagelens.open(index_dir, embedder=FakeEmbedder()) as index:
        expected = index.status().to_dict()
        with TestClient(create_app(index, token=None)) as client:
            response = client.get("/api/status")
            schema = client.get("/openapi.json").json()
    assert response.status_code == 200, response.text
    data = response.json()
    assert (data["pool_factor"], data["vector_dtype"]) == (2, "bfloat16")
    assert (data["pool_factor"], data["vector_dtype"]) == (expected["pool_factor"], expected["vector_dtype"])
    # `pagelens status` through a running server prints these lines from the HTTP payload
    assert storage_lines(data) == storage_lines(expected) and len(storage_lines(data)) == 2
    fields = schema["components"]["schemas"]["StatusResponse"]["properties"]
    assert {"pool_factor", "vector_dtype"} <= set(fields)
