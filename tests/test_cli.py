"""The CLI: every exit code and JSON shape, with a real tiny model and a real Milvus Lite folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PAPER, REPORT
from pagelens.cli import main

HEAVY = ("torch", "transformers", "pymilvus", "pypdfium2", "colpali_engine")


@pytest.mark.e2e  # a fresh interpreter
def test_help_and_import_stay_light() -> None:
    code = (
        "import sys, contextlib, io\n"
        "import pagelens\n"
        "from pagelens.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr


@pytest.mark.e2e  # the console script as a subprocess
def test_console_script_usage_error_exits_2() -> None:
    script = Path(sys.executable).with_name("pagelens")
    result = subprocess.run([str(script), "search"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "give one of QUERY" in result.stderr
    result = subprocess.run([str(script), "frobnicate"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2


@pytest.fixture
def cli_env(tmp_path: Path, tiny_models, docs_copy: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PAGELENS_INDEX", str(tmp_path / "index"))
    monkeypatch.setenv("PAGELENS_MODEL", str(tiny_models("colqwen2")))
    return docs_copy


def _json(capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    return json.loads(capsys.readouterr().out)


def test_index_search_similar_status_remove(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", str(cli_env), "--quiet", "--json"]) == 0
    report = _json(capsys)
    assert report["pages_added"] == 14 and report["failed"] == []

    assert main(["search", "a table of results", "-k", "3", "--json"]) == 0
    payload = _json(capsys)
    assert payload["query"] == "a table of results" and payload["query_type"] == "text"
    assert [r["rank"] for r in payload["results"]] == [1, 2, 3]
    first = payload["results"][0]
    assert set(first) >= {"rank", "score", "path", "page", "page_id", "metadata"}
    assert isinstance(first["score"], float) and isinstance(first["page"], int) and first["page"] >= 1
    scores = [r["score"] for r in payload["results"]]
    assert scores == sorted(scores, reverse=True)

    assert main(["similar", first["path"], "--page", str(first["page"]), "-k", "2", "--json"]) == 0
    similar = _json(capsys)
    assert similar["query_type"] == "page" and len(similar["results"]) == 2
    assert first["page_id"] not in [r["page_id"] for r in similar["results"]]

    image = cli_env.parent / "query.png"
    import pagelens

    with pagelens.open() as index:
        index.search("x", k=1)[0].image().save(image)
    assert main(["search", "--image", str(image), "-k", "2", "--json"]) == 0
    by_image = _json(capsys)
    assert by_image["query_type"] == "image" and set(by_image["results"][0]) == set(first)

    assert main(["search", "--queries", str(_queries(cli_env.parent)), "-k", "2", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["query"] for line in lines] == ["revenue", "late interaction retrieval"]

    assert main(["search", "revenue", "--path", "*annual*", "--pages", "2-3", "--json"]) == 0
    filtered = _json(capsys)
    assert {(Path(r["path"]).name, r["page"]) for r in filtered["results"]} == {
        (REPORT, 2),
        (REPORT, 3),
    }

    assert main(["status", "--json"]) == 0
    status = _json(capsys)
    assert (status["pages"], status["documents"], status["failed"]) == (14, 2, [])
    assert isinstance(status["vectors"], int) and status["vectors"] > 14
    assert status["model"] == os.environ["PAGELENS_MODEL"]

    assert main(["remove", str(cli_env / PAPER)]) == 0
    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    assert _json(capsys)["pages"] == 6
    assert main(["remove", str(cli_env / PAPER)]) == 1
    assert "not in the index" in capsys.readouterr().err


def _queries(folder: Path) -> Path:
    path = folder / "queries.txt"
    path.write_text('revenue\n{"query": "late interaction retrieval"}\n')
    return path


def test_partial_failure_exits_3_and_total_failure_exits_1(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (cli_env / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    assert main(["index", str(cli_env), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert err.count("broken.pdf") == 1 and "not a readable PDF" in err
    only_bad = cli_env.parent / "bad"
    only_bad.mkdir()
    shutil.move(str(cli_env / "broken.pdf"), only_bad / "broken.pdf")
    assert main(["index", str(only_bad), "--quiet"]) == 1
    assert main(["status", "--json"]) == 0
    failed = _json(capsys)["failed"]  # kept until fixed, removed or pruned
    assert sorted(f["path"] for f in failed) == sorted(
        [str(cli_env / "broken.pdf"), str(only_bad / "broken.pdf")]
    )
    assert all("not a readable PDF" in f["reason"] for f in failed)
    assert main(["index", str(cli_env), "--prune", "--quiet"]) == 0
    assert main(["status", "--json"]) == 0
    assert [f["path"] for f in _json(capsys)["failed"]] == [str(only_bad / "broken.pdf")]


def test_model_errors_are_one_clear_line(
    tmp_path: Path, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", str(cli_env / PAPER), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["search", "x", "--model", "vidore/colpali-v1.3"]) == 1
    err = capsys.readouterr().err
    assert "was built with model" in err and "Traceback" not in err
    fresh = tmp_path / "fresh"
    assert main(["index", str(cli_env), "--index", str(fresh), "--model", "vidore/no-such-model-here"]) == 1
    err = capsys.readouterr().err
    assert "vidore/no-such-model-here" in err and "--model" in err and "Traceback" not in err
    assert not fresh.exists()  # a failed first run leaves no folder behind


def test_search_on_an_empty_index_and_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "anything", "--index", str(tmp_path / "empty"), "--json"]) == 1
    assert "no index at" in capsys.readouterr().err and not (tmp_path / "empty").exists()
    with pytest.raises(SystemExit) as exit_info:
        main(["search", "x", "-k", "0"])
    assert exit_info.value.code == 2
    assert main(["search", "x", "--index", str(tmp_path / "empty"), "--pages", "two"]) == 2
