"""Robustness on real broken files: the py-pdf and qpdf test corpora plus real documents, through the real
CLI with a real (tiny) model. Nothing crashes, nothing prints a traceback, each failing file is listed once
with a reason, the exit code is 3, and every page of every good file is searchable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("pagelens")
    return subprocess.run([str(script), *args], capture_output=True, text=True, env=env, timeout=3000)


def _check(inputs: list[Path], tmp_path: Path, model: Path) -> dict:  # type: ignore[type-arg]
    env = {**os.environ, "PAGELENS_INDEX": str(tmp_path / "index"), "PAGELENS_MODEL": str(model)}
    result = _run("index", *map(str, inputs), "--quiet", "--json", env=env)
    assert result.returncode == 3, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    failed_lines = [line for line in result.stderr.splitlines() if line.startswith("failed: ")]
    failed_paths = [f["path"] for f in report["failed"]]
    assert len(failed_paths) == len(set(failed_paths)) == len(failed_lines)  # each failure once
    assert all(
        f["reason"] and f["path"] in line for f, line in zip(report["failed"], failed_lines, strict=True)
    )

    status = json.loads(_run("status", "--json", env=env).stdout)
    assert {f["path"] for f in status["failed"]} == set(failed_paths)
    assert status["pages"] == report["pages_added"] and status["documents"] == report["documents_added"]
    search = json.loads(_run("search", "table", "-k", str(status["pages"] + 5), "--json", env=env).stdout)
    assert len(search["results"]) == status["pages"]  # every stored page of every good file is searchable
    return report


def test_py_pdf_samples_and_real_documents(tmp_path: Path, corpus: Path, tiny_models) -> None:  # type: ignore[no-untyped-def]
    report = _check(
        [corpus / "bad/pypdf-sample-files", corpus / "docs/byaldi"], tmp_path, tiny_models("colqwen2")
    )
    reasons = {Path(f["path"]).name: f["reason"] for f in report["failed"]}
    assert "password" in reasons["libreoffice-writer-password.pdf"]
    assert report["documents_added"] >= 25


@pytest.mark.slow
def test_the_whole_bad_corpus_and_all_documents(tmp_path: Path, corpus: Path, tiny_models) -> None:  # type: ignore[no-untyped-def]
    report = _check([corpus / "bad", corpus / "docs"], tmp_path, tiny_models("colqwen2"))
    print(
        f"\nfiles failed: {len(report['failed'])}, documents indexed: {report['documents_added']}, "
        f"pages kept: {report['pages_added']}, seconds: {report['seconds']}"
    )
