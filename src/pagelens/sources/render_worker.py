"""Rasterize in a separate process: pages render while the model embeds, and a document that makes the
renderer hang or crash costs one restart of the worker, not the run.

The worker is `python -m pagelens.sources.render_worker`, talking pickled messages over its stdin/stdout
(not `multiprocessing`, whose spawn mode re-imports the caller's main script: a user's script without an
`if __name__ == "__main__"` guard would recurse). It renders ahead; a reader thread in the parent holds at
most `prefetch` pages, and back-pressure through the pipe pauses the worker beyond that. The parent waits
at most `page_timeout` seconds for each page; past that the worker is killed, the document fails with a
plain reason, and a fresh worker serves the next document. A worker that dies (a segfault in a C library on
a hostile PDF) fails only the document it was rendering.

The worker never prints a traceback of its own: it ignores Ctrl-C (the parent handles it and stops the
worker), and a parent that is gone (killed, interrupted: its end of the pipes closed) ends it quietly.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import IO, Any

from pagelens.errors import SourceError
from pagelens.sources.document import Document, PageImage

log = logging.getLogger(__name__)

DEFAULT_PAGE_TIMEOUT = 60.0
DEFAULT_PREFETCH = 8
_EOF = ("eof", -1, None, None)


def _send(stream: IO[bytes], message: Any) -> None:
    pickle.dump(message, stream, protocol=pickle.HIGHEST_PROTOCOL)
    stream.flush()


def _main() -> None:  # pragma: no cover - runs in the child
    import os
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    with contextlib.suppress(BrokenPipeError, EOFError, KeyboardInterrupt, pickle.UnpicklingError):
        _serve()  # those errors: the parent is gone or stopped us
    # the parent may be gone: let no flush at exit complain about a closed pipe
    with contextlib.suppress(OSError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os._exit(0)


def _serve() -> None:  # pragma: no cover - runs in the child
    from pagelens.sources.pages import count_pages, iter_pages
    from pagelens.sources.text import fit_text, ocr_page

    requests, results = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print from a library must not corrupt the message stream
    while True:
        try:
            job, document, image_side, password, skip = pickle.load(requests)
        except EOFError:
            return
        try:
            if image_side == 0:  # a count request
                _send(results, ("done", job, count_pages(document, password), None))
                continue
            for page in iter_pages(document, image_side, password):
                if page.page not in skip:  # no text layer (a scan, an image): OCR, where installed
                    text = fit_text(page.text or ocr_page(document, page.page, page.image, password))
                    _send(results, ("page", job, page.page, (page.image, text)))
            _send(results, ("done", job, None, None))
        except SourceError as exc:
            _send(results, ("error", job, exc.reason, None))
        except Exception as exc:  # anything a renderer throws on a hostile file
            _send(results, ("error", job, f"rendering failed ({exc.__class__.__name__}: {exc})", None))


class RenderWorker:
    """One rendering process; use as a context manager."""

    def __init__(self, page_timeout: float = DEFAULT_PAGE_TIMEOUT, prefetch: int = DEFAULT_PREFETCH) -> None:
        self.page_timeout = page_timeout
        self.prefetch = prefetch
        self._job = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._messages: queue.Queue[tuple[str, int, Any, Any]] = queue.Queue()
        self._busy = False  # a document was abandoned mid-way: restart before the next one

    def _start(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "pagelens.sources.render_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
        )
        self._messages = queue.Queue(maxsize=self.prefetch)
        reader = threading.Thread(
            target=_read,
            args=(self._process.stdout, self._messages),
            daemon=True,
            name="pagelens-render-reader",
        )
        reader.start()
        self._busy = False

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            for stream in (self._process.stdin, self._process.stdout):
                if stream is not None:
                    stream.close()
            self._process = None

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None and not self._busy:
            try:
                assert self._process.stdin is not None
                self._process.stdin.close()
                self._process.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._kill()

    def __enter__(self) -> RenderWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _submit(self, document: Document, image_side: int, password: str | None, skip: frozenset[int]) -> int:
        if self._busy:
            self._kill()
        if self._process is None or self._process.poll() is not None:
            self._kill()
            self._start()
        self._job += 1
        assert self._process is not None and self._process.stdin is not None
        with contextlib.suppress(OSError):  # a dead worker is reported by _next
            _send(self._process.stdin, (self._job, document, image_side, password, frozenset(skip)))
        return self._job

    def _next(self, document: Document) -> tuple[str, int, Any, Any]:
        """The next message; a dead worker is noticed at once, a hung one after the timeout."""
        try:
            message = self._messages.get(timeout=self.page_timeout)
        except queue.Empty:
            self._kill()
            raise SourceError(
                document.path, f"rendering timed out (no page within {self.page_timeout:g}s)"
            ) from None
        if message is _EOF or message[0] == "eof":
            self._kill()
            raise SourceError(document.path, "the renderer crashed on this file")
        return message

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
                    continue  # left over from an earlier request
                if kind == "page":
                    picture, text = image
                    yield PageImage(document=document, page=int(value), image=picture, text=text)
                elif kind == "error":
                    finished = True
                    raise SourceError(document.path, str(value))
                else:
                    finished = True
                    return
        finally:
            if not finished:
                self._busy = True  # the worker is still rendering this document: replace it before reuse


def _read(stream: IO[bytes] | None, messages: queue.Queue[tuple[str, int, Any, Any]]) -> None:
    """Reader thread: worker messages into the bounded queue; end of stream (a crash or exit) as _EOF."""
    try:
        while stream is not None:
            messages.put(pickle.load(stream))
    except (EOFError, OSError, ValueError, pickle.UnpicklingError):
        pass
    messages.put(_EOF)


if __name__ == "__main__":  # pragma: no cover
    _main()
