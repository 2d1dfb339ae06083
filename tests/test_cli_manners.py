"""Command-line manners (issue 18, point 7): `ls`, `show`, `search --candidates/--exact`, clear messages for
bad numbers, `remove` of everything asks for --yes, and `--quiet` prints nothing but errors. Real Milvus Lite
index of the generated samples; FakeEmbedder, except for `--quiet`, which loads a tiny real model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import pagelens
from conftest import PAPER, REPORT
from fakes import FakeEmbedder
from pagelens.cli import main


@pytest.fixture
def indexed(tmp_path: Path, samples: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An index of the report, the paper and one broken PDF; $PAGELENS_INDEX points at it."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in (REPORT, PAPER):
        shutil.copy(samples / name, docs / name)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    with pagelens.open(tmp_path / "index", embedder=FakeEmbedder()) as index:
        index.add([docs], progress=False)
    monkeypatch.setattr("pagelens.embed.load_embedder", lambda *args, **kwargs: FakeEmbedder())
    monkeypatch.setenv("PAGELENS_INDEX", str(tmp_path / "index"))
    monkeypatch.delenv("PAGELENS_MODEL", raising=False)
    return docs


def test_ls_lists_documents_pages_and_status(indexed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["documents"]
    assert [(Path(r["path"]).name, r["pages"], r["status"]) for r in rows] == [  # by path
        (REPORT, 6, "indexed"),
        ("broken.pdf", 0, "failed"),
        (PAPER, 8, "indexed"),
    ]
    assert "not a readable PDF" in next(r["reason"] for r in rows if r["status"] == "failed")
    assert main(["ls"]) == 0
    text = capsys.readouterr().out
    assert f"8  indexed   {indexed / PAPER}" in text
    assert "2 document(s), 14 page(s); 1 failed" in text
    assert main(["ls", str(indexed / PAPER), "--json"]) == 0
    assert [r["pages"] for r in json.loads(capsys.readouterr().out)["documents"]] == [8]


def test_show_prints_a_page_and_writes_it_as_png(
    indexed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "page.png"
    assert main(["show", str(indexed / REPORT), "--page", "3", "--out", str(out), "--json"]) == 0
    details = json.loads(capsys.readouterr().out)
    with pagelens.open(tmp_path / "index", create=False) as index:
        page_id = index.find_page(indexed / REPORT, 3)
        record = index.catalog.by_id[page_id]
    assert details == {
        "path": str(indexed / REPORT),
        "page": 3,
        "page_id": str(page_id),
        "vectors": record.n_vectors,
        "metadata": record.metadata,
        "out": str(out),
    }
    with Image.open(out) as image:
        assert image.format == "PNG" and max(image.size) == 1400 and image.size[0] < image.size[1]
    assert main(["show", str(indexed / REPORT), "--page", "9"]) == 1
    assert "has 6 page(s); there is no page 9" in capsys.readouterr().err
    assert main(["show", str(indexed / REPORT), "--page", "1"]) == 0
    assert "page:      1" in capsys.readouterr().out


def test_search_candidates_and_exact(
    indexed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pagelens.open(tmp_path / "index", embedder=FakeEmbedder(), candidates=2) as index:
        few = [(h.page_id, round(h.score, 5)) for h in index.search("revenue table", k=5, mode="visual")]
        exact = [
            (h.page_id, round(h.score, 5))
            for h in index.search("revenue table", k=5, exact=True, mode="visual")
        ]
    # --candidates and --exact are the visual channel's options
    for flags, expected in ((["--candidates", "2"], few), (["--exact"], exact)):
        assert main(["search", "revenue table", "-k", "5", "--json", "--mode", "visual", *flags]) == 0
        results = json.loads(capsys.readouterr().out)["results"]
        assert [(int(r["page_id"]), round(r["score"], 5)) for r in results] == expected


@pytest.mark.parametrize("argv", [["search", "x", "-k", "abc"], ["search", "x", "--candidates", "0"]])
def test_bad_numbers_say_what_was_expected(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "expected a positive integer" in capsys.readouterr().err


def test_removing_everything_asks_for_yes_or_shows_a_dry_run(
    indexed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["remove", str(indexed)])
    assert exit_info.value.code == 2
    assert "covers every document in the index (3)" in capsys.readouterr().err
    assert main(["remove", str(indexed), "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert sorted(captured.out.split()) == sorted(str(indexed / n) for n in (REPORT, PAPER, "broken.pdf"))
    assert "would remove 3 of 3 document(s)" in captured.err
    with pagelens.open(tmp_path / "index", create=False) as index:
        assert len(index.documents()) == 3  # a dry run removes nothing
    assert main(["remove", str(indexed / PAPER)]) == 0  # one document, named: no question asked
    assert main(["remove", str(indexed), "--yes"]) == 0
    assert "removed 2 document(s)" in capsys.readouterr().err
    with pagelens.open(tmp_path / "index", create=False) as index:
        assert index.documents() == []


def test_quiet_prints_nothing_but_results_and_errors(tiny_models, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(samples / REPORT, docs / REPORT)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAGELENS_", "TQDM", "TRANSFORMERS_V"))}
    env.update(HF_HUB_OFFLINE="1", PAGELENS_INDEX=str(tmp_path / "index"))
    cli = [sys.executable, "-m", "pagelens.cli"]
    model = ["--model", str(tiny_models("colqwen2"))]

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cli, *argv], env=env, capture_output=True, text=True, timeout=300)

    indexed = run("index", str(docs), *model, "--quiet")
    assert indexed.returncode == 0 and indexed.stderr == "" and indexed.stdout == ""
    found = run("search", "revenue", "-k", "2", "--quiet")
    assert found.returncode == 0 and found.stderr == "", found.stderr
    results = [line for line in found.stdout.splitlines() if not line.startswith("     ")]  # not snippets
    assert len(results) == 2 and REPORT in found.stdout
    removed = run("-q", "remove", str(docs / REPORT))
    assert removed.returncode == 0 and removed.stderr == "" and removed.stdout == ""
    failed = run("search", "revenue", "--quiet", "--index", str(tmp_path / "none"))
    assert failed.returncode == 1 and failed.stderr.startswith("pagelens: error: no index at")


def test_an_in_process_quiet_run_puts_logging_warnings_and_environment_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging
    import warnings

    from pagelens.cli import main

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    logging.getLogger("pagelens").setLevel(logging.INFO)
    filters = list(warnings.filters)
    assert main(["--quiet", "status", "--index", str(tmp_path / "none")]) == 1  # no index: an error, quietly
    assert logging.getLogger("pagelens").level == logging.INFO
    assert warnings.filters == filters
    assert "TQDM_DISABLE" not in os.environ
