"""Shared by the kill test and the kill soak: run the indexer, kill it, compare indexes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

RUNNER = Path(__file__).with_name("index_runner.py")


def run_indexer(index: Path, inputs: list[Path], kill_after: float | None = None) -> dict[str, Any] | None:
    """Run the indexer; with `kill_after`, SIGKILL it after that many seconds (None if it was killed)."""
    command = [sys.executable, str(RUNNER), str(index), *map(str, inputs)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    if kill_after is not None:
        try:
            process.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            os.killpg(
                process.pid, signal.SIGKILL
            )  # the indexer and its render worker, like kill -9 on a group
            process.wait()
            return None
    out, err = process.communicate(timeout=600)
    if process.returncode != 0:
        raise RuntimeError(f"indexer failed ({process.returncode}): {err.decode()[-2000:]}")
    return json.loads(out.decode().strip().splitlines()[-1])


def snapshot(index: Path) -> dict[str, Any]:
    """Everything that must match between two indexes: documents, page ids, vectors, row counts."""
    from pagelens.store.location import IndexLocation
    from pagelens.store.milvus import MilvusStore

    store = MilvusStore(IndexLocation.parse(index))
    try:
        store.load()
        documents = {(Path(d.path).name, d.content_hash, d.status, d.pages) for d in store.list_documents()}
        pages = store.list_pages()
        vectors = store.fetch_vectors(pages, 128)
        return {
            "documents": documents,
            "page_ids": sorted(p.page_id for p in pages),
            "page_rows": store.count(store.pages),
            "chunk_rows": store.count(store.vectors),
            "vectors": {k: np.asarray(v) for k, v in vectors.items()},
        }
    finally:
        store.close()


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    problems = []
    for key in ("documents", "page_ids", "page_rows", "chunk_rows"):
        if a[key] != b[key]:
            problems.append(f"{key} differ")
    if a["page_rows"] != len(set(a["page_ids"])):
        problems.append("duplicate page rows")
    if a["vectors"].keys() != b["vectors"].keys():
        problems.append("pages with complete vectors differ")
    elif any(not np.array_equal(a["vectors"][k], b["vectors"][k]) for k in a["vectors"]):
        problems.append("vectors differ")
    return problems
