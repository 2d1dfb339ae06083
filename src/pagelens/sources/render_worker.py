"""Rasterize in a separate process: pages render while the model embeds, and a document that makes the
renderer hang or crash costs one restart of the worker, not the run.

The worker renders ahead into a bounded queue (back-pressure keeps memory flat). The parent waits at most
`page_timeout` seconds for each page; past that the worker is killed, the document fails with a plain
reason, and a fresh worker serves the next document. A worker that dies (a segfault in a C library on a
fuzzed PDF) fails only the document it was rendering.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
from collections.abc import Iterator
from typing import Any

from pagelens.errors import SourceError
from pagelens.sources.document import Document, PageImage

log = logging.getLogger(__name__)

DEFAULT_PAGE_TIMEOUT = 60.0
DEFAULT_PREFETCH = 8
POLL_SECONDS = 0.25


def _serve(requests: Any, results: Any, current: Any) -> None:  # pragma: no cover - runs in the child
    from pagelens.sources.pages import count_pages, iter_pages

    while True:
        request = requests.get()
        if request is None:
            return
        job, document, image_side, password, skip = request
        try:
            if image_side == 0:  # a count request
                results.put(("done", job, count_pages(document, password), None))
                continue
            for page in iter_pages(document, image_side, password):
                if current.value != job:
                    break
                if page.page in skip:
                    continue
                results.put(("page", job, page.page, page.image))
            results.put(("done", job, None, None))
        except SourceError as exc:
            results.put(("error", job, exc.reason, None))
        except Exception as exc:  # anything a renderer throws on a hostile file
            results.put(("error", job, f"rendering failed ({exc.__class__.__name__}: {exc})", None))


class RenderWorker:
    """One rendering process; use as a context manager."""

    def __init__(self, page_timeout: float = DEFAULT_PAGE_TIMEOUT, prefetch: int = DEFAULT_PREFETCH) -> None:
        self.page_timeout = page_timeout
        self.prefetch = prefetch
        self._context = multiprocessing.get_context("spawn")
        self._job = 0
        self._process: Any = None

    def _start(self) -> None:
        self._requests = self._context.Queue()
        self._results = self._context.Queue(maxsize=self.prefetch)
        self._current = self._context.Value("q", 0)
        self._process = self._context.Process(
            target=_serve,
            args=(self._requests, self._results, self._current),
            daemon=True,
            name="pagelens-render",
        )
        self._process.start()

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join(timeout=5)
            self._process = None

    def close(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._current.value = -1
            try:
                self._requests.put(None)
                self._process.join(timeout=2)
            except (OSError, ValueError):
                pass
        self._kill()

    def __enter__(self) -> RenderWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _next(self, document: Document) -> tuple[str, int, Any, Any]:
        """The next message, polling so a dead worker is noticed at once and a hung one after the timeout."""
        waited = 0.0
        poll = max(0.001, min(POLL_SECONDS, self.page_timeout))
        while True:
            try:
                message: tuple[str, int, Any, Any] = self._results.get(timeout=poll)
                return message
            except queue.Empty:
                waited += poll
                if self._process is None or not self._process.is_alive():
                    self._kill()
                    raise SourceError(document.path, "the renderer crashed on this file") from None
                if waited >= self.page_timeout:
                    self._kill()
                    raise SourceError(
                        document.path, f"rendering timed out (no page within {self.page_timeout:.0f}s)"
                    ) from None

    def _submit(self, document: Document, image_side: int, password: str | None, skip: frozenset[int]) -> int:
        if self._process is None or not self._process.is_alive():
            self._start()
        self._job += 1
        self._current.value = self._job
        self._requests.put((self._job, document, image_side, password, frozenset(skip)))
        return self._job

    def count(self, document: Document, password: str | None = None) -> int:
        """Number of pages, counted in the worker (opening a hostile file can hang or crash too)."""
        job = self._submit(document, 0, password, frozenset())
        while True:
            kind, tag, value, _ = self._next(document)
            if tag != job:
                continue
            if kind == "error":
                raise SourceError(document.path, str(value))
            return int(value)

    def pages(
        self,
        document: Document,
        image_side: int,
        password: str | None = None,
        skip: frozenset[int] = frozenset(),
    ) -> Iterator[PageImage]:
        """Pages of `document` not in `skip`, rendered in the worker. Raises SourceError on failure/timeout."""
        job = self._submit(document, image_side, password, skip)
        finished = False
        try:
            while True:
                kind, tag, value, image = self._next(document)
                if tag != job:
                    continue  # left over from a document the caller stopped reading
                if kind == "page":
                    yield PageImage(document=document, page=int(value), image=image)
                elif kind == "error":
                    finished = True
                    raise SourceError(document.path, str(value))
                else:
                    finished = True
                    return
        finally:
            if not finished and self._process is not None:
                self._current.value = 0  # tell the worker to stop rendering this document
