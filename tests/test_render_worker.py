"""The rendering worker: pages come from a separate process; a hang or a crash fails one document only."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from conftest import PAPER, REPORT
from pagelens.errors import SourceError
from pagelens.sources import Document
from pagelens.sources.render_worker import RenderWorker


def test_worker_renders_counts_and_skips(samples: Path) -> None:
    report = Document.from_path(samples / REPORT)
    with RenderWorker() as worker:
        assert worker.count(report) == 6
        pages = list(worker.pages(report, 64, skip=frozenset({1, 2, 3})))
        assert [p.page for p in pages] == [4, 5, 6]
        assert max(pages[0].image.size) == 64


def test_a_slow_document_times_out_and_the_next_one_still_renders(samples: Path) -> None:
    paper = Document.from_path(samples / PAPER)
    report = Document.from_path(samples / REPORT)
    with RenderWorker(page_timeout=0.001) as worker:  # a fresh worker cannot start and render in 1 ms
        with pytest.raises(SourceError, match="timed out"):
            list(worker.pages(paper, 2000))
        worker.page_timeout = 60
        assert len(list(worker.pages(report, 64))) == 6


def test_a_crashing_renderer_fails_only_its_document(samples: Path) -> None:
    paper = Document.from_path(samples / PAPER)
    report = Document.from_path(samples / REPORT)
    with RenderWorker(prefetch=1) as worker:
        pages = worker.pages(paper, 400)
        next(pages)
        os.kill(worker._process.pid, signal.SIGKILL)
        with pytest.raises(SourceError, match="crashed"):
            list(pages)
        assert [p.page for p in worker.pages(report, 64)] == [1, 2, 3, 4, 5, 6]


def test_stopping_early_does_not_leak_pages_into_the_next_document(samples: Path) -> None:
    paper = Document.from_path(samples / PAPER)
    report = Document.from_path(samples / REPORT)
    with RenderWorker(prefetch=2) as worker:
        first = worker.pages(paper, 64)
        next(first)
        first.close()
        pages = list(worker.pages(report, 64))
        assert [p.document.path for p in pages] == [report.path] * 6
        assert [p.page for p in pages] == [1, 2, 3, 4, 5, 6]
