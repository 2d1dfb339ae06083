"""The indexing pipeline: discover -> rasterize -> embed -> store, batched, with progress and resume.

Guarantees, whatever happens mid-run (a crash, kill -9, a bad file):
- a document's pages become searchable only when its `documents` row is written (the commit), after all of
  its pages and vectors are stored; a replaced file's old pages stay live until the new ones commit;
- pages already stored for a content hash are not embedded again (resume after a crash, renames, copies);
- one bad file is reported with its path and reason and never stops the others. That holds after rendering
  too: a batch the model refuses is retried page by page, the pages that embed are kept, and the document
  owning a page that does not is failed with the page's number and reason (its other pages stay unsearchable,
  and a later run retries it); a batch the store refuses fails the documents it belonged to. Pages whose shape
  no processor takes (200:1 strips, 1 x 1 images) are padded first (sources/page_shape.py) and the
  document's record says so.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pagelens.errors import SourceError, UsageError
from pagelens.results import Failure, IngestReport
from pagelens.sources import Document, discover
from pagelens.sources.datasets import dataset_documents, is_dataset
from pagelens.sources.page_shape import make_embeddable
from pagelens.sources.render_worker import DEFAULT_PAGE_TIMEOUT, DEFAULT_PREFETCH, RenderWorker
from pagelens.store.milvus import MilvusStore
from pagelens.store.records import DocumentRecord, PageRecord, StoredPage, page_id_for

if TYPE_CHECKING:
    from pagelens.embed.protocol import Embedder

log = logging.getLogger(__name__)

PagesWritten = Callable[[list[StoredPage]], None]


@dataclass
class _Job:
    """A document whose pages must be embedded. `done` holds page numbers stored by an earlier run."""

    document: Document
    total: int
    done: set[int]
    previous_hash: str | None
    aliases: list[Document] = field(default_factory=list)
    written: int = 0
    failed: bool = False
    committed: bool = False
    notes: list[str] = field(default_factory=list)  # pages adjusted to fit the model, in plain words
    texts: dict[int, str] = field(default_factory=dict)  # page number -> its text, until the page is stored

    @property
    def remaining(self) -> int:
        return self.total - len(self.done)


class Ingestor:
    """Runs one `add` over a store. `embedder` is called once, on first need, so unchanged runs load no model."""

    def __init__(
        self,
        store: MilvusStore,
        embedder: Callable[[], Embedder],
        on_pages_written: PagesWritten,
        *,
        image_side: Callable[[], int],
        batch_size: int | None = None,
        progress: bool | None = None,
        page_timeout: float = DEFAULT_PAGE_TIMEOUT,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.on_pages_written = on_pages_written
        self.image_side = image_side
        self._batch_size = batch_size
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.page_timeout = page_timeout

    @property
    def batch_size(self) -> int:
        """Pages per model call: as asked, else the model's own default. Resolved only when there is
        something to embed, so a run that changes nothing loads no model."""
        if self._batch_size is None:
            self._batch_size = int(getattr(self.embedder(), "batch_size", 4))
        return max(1, self._batch_size)

    # ---- planning ---------------------------------------------------------------------------------------
    def run(
        self,
        inputs: Iterable[str | Path],
        *,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        password: str | None = None,
        prune: bool = False,
        metadata: dict[str, Any] | None = None,
        image_column: str | None = None,
        id_column: str | None = None,
        shard: tuple[int, int] | None = None,
    ) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        errors: list[SourceError] = []
        inputs = list(inputs)
        items: list[Path | Document] = []
        plain: list[str | Path] = []
        for raw in inputs:
            if is_dataset(Path(raw).expanduser()):  # a dataset folder or file is rows of pages, not files
                items.extend(dataset_documents(Path(raw).expanduser(), image_column, id_column, errors))
            else:
                plain.append(raw)
        files = discover(plain, include, exclude, errors)
        items.extend(files)
        report.failed.extend(Failure(e.path, e.reason) for e in errors)
        if shard is not None:
            items = [item for item in items if in_shard(_item_path(item), shard)]
            files = [f for f in files if in_shard(str(f), shard)]

        known = {d.path: d for d in self.store.list_documents()}
        live_hashes = {d.content_hash: d for d in known.values() if d.status == "indexed"}
        jobs: dict[str, _Job] = {}
        with RenderWorker(page_timeout=self.page_timeout, prefetch=2 * DEFAULT_PREFETCH) as worker:
            for item in items:
                self._plan(worker, item, known, live_hashes, jobs, report, password, metadata)
            if jobs:
                self._embed_all(worker, list(jobs.values()), report, password)
        if prune:
            owned = {p: d for p, d in known.items() if shard is None or in_shard(p, shard)}
            report.documents_removed += self._prune(inputs, files, owned)
        if shard is None:  # other shards may be mid-document right now: their pages are not garbage
            self.collect_garbage()
        report.seconds = time.perf_counter() - started
        return report

    def _plan(
        self,
        worker: RenderWorker,
        item: Path | Document,
        known: dict[str, DocumentRecord],
        live_hashes: dict[str, DocumentRecord],
        jobs: dict[str, _Job],
        report: IngestReport,
        password: str | None,
        metadata: dict[str, Any] | None,
    ) -> None:
        if isinstance(item, Document):
            document = item if not metadata else replace(item, metadata={**item.metadata, **metadata})
        else:
            try:
                document = Document.from_path(item, _sidecar_metadata(item, metadata))
            except OSError as exc:
                self._fail(report, str(item), f"cannot read file ({exc.strerror or exc})")
                return
        existing = known.get(document.path)
        if existing and existing.status == "indexed" and existing.content_hash == document.content_hash:
            if _as_stored(document.metadata) != existing.metadata:  # a changed sidecar: no re-embedding
                self._update_metadata(existing, document)
                report.documents_updated += 1
            else:
                report.documents_unchanged += 1
            return
        previous = existing.content_hash if existing and existing.status == "indexed" else None
        if document.content_hash in jobs:  # a copy of a file already planned in this run
            jobs[document.content_hash].aliases.append(document)
            return
        source = live_hashes.get(document.content_hash)
        if source is not None:  # same bytes already indexed under another path: a move or a copy
            self._commit(document, source.pages, previous, source.reason)
            if not Path(source.path).exists():
                self.store.delete_documents([source.path])
            report.documents_moved += 1
            return
        if document.kind == "unknown":
            self._fail(report, document.path, "unsupported file type (expected a PDF or an image)", document)
            return
        try:
            total = worker.count(document, password)
        except SourceError as exc:
            self._fail(report, exc.path, exc.reason, document)
            return
        if total == 0:
            self._fail(report, document.path, "the document has no pages", document)
            return
        done = {p.page for p in self.store.pages_of([document.content_hash])}
        report.pages_resumed += len(done)
        jobs[document.content_hash] = _Job(document, total, done, previous)

    # ---- embedding --------------------------------------------------------------------------------------
    def _embed_all(
        self, worker: RenderWorker, jobs: list[_Job], report: IngestReport, password: str | None
    ) -> None:
        todo = sum(job.remaining for job in jobs)
        bar = _progress_bar(todo, self.progress)
        batch: list[tuple[_Job, int, Any]] = []
        self._writer = BackgroundWriter()
        try:
            for job in jobs:
                if job.remaining == 0:
                    self._finish(job, report)
                    continue
                timer = time.perf_counter()
                try:
                    for page in worker.pages(job.document, self.image_side(), password, frozenset(job.done)):
                        report.timings["rasterize"] += time.perf_counter() - timer
                        job.texts[page.page] = page.text
                        batch.append((job, page.page, self._embeddable(job, page.page, page.image)))
                        if len(batch) >= self.batch_size:
                            self._flush(batch, report, bar)
                            batch = []
                        if job.failed:  # a page of it did not embed: rendering the rest is wasted work
                            break
                        timer = time.perf_counter()
                except SourceError as exc:
                    batch = [item for item in batch if item[0] is not job]
                    self._fail_job(report, job, exc.reason)
                    continue
            if batch:
                self._flush(batch, report, bar)
            self._writer.drain()
        finally:
            self._writer.close()
            bar.close()

    @staticmethod
    def _embeddable(job: _Job, number: int, image: Any) -> Any:
        image, note = make_embeddable(image)
        if note:
            log.info("%s: page %d: %s", job.document.path, number, note)
            job.notes.append(f"page {number}: {note}")
        return image

    def _flush(self, batch: list[tuple[_Job, int, Any]], report: IngestReport, bar: Any) -> None:
        """Embed a batch here, and hand the write to the background writer so the next batch's rendering
        and embedding overlap it. One write in flight at a time: memory stays bounded, errors surface."""
        embedder = self.embedder()
        batch = [item for item in batch if not item[0].failed]
        if not batch:
            return
        timer = time.perf_counter()
        try:
            vectors = embedder.embed_images([image for _, _, image in batch])
        except Exception as exc:  # one page the processor or model refuses must not cost the others
            log.info("a batch of %d page(s) failed to embed (%s); retrying page by page", len(batch), exc)
            batch, vectors = self._embed_one_by_one(embedder, batch, report)
        report.timings["embed"] += time.perf_counter() - timer
        if not batch:
            return
        stored = [
            StoredPage(
                PageRecord(
                    page_id=page_id_for(job.document.content_hash, number),
                    content_hash=job.document.content_hash,
                    page=number,
                    n_vectors=len(vecs),
                    width=image.width,
                    height=image.height,
                    metadata=job.document.metadata,
                    text=job.texts.pop(number, ""),
                ),
                vecs,
            )
            for (job, number, image), vecs in zip(batch, vectors, strict=True)
        ]
        self._writer.submit(self._store_batch, stored, [job for job, _, _ in batch], report, bar)

    def _embed_one_by_one(
        self, embedder: Embedder, batch: list[tuple[_Job, int, Any]], report: IngestReport
    ) -> tuple[list[tuple[_Job, int, Any]], list[np.ndarray]]:
        """Embed each page alone; a page that fails fails its document (and drops its other pages)."""
        embedded: list[tuple[tuple[_Job, int, Any], np.ndarray]] = []
        for item in batch:
            job, number, image = item
            if job.failed:
                continue
            try:
                embedded.append((item, embedder.embed_images([image])[0]))
            except Exception as exc:
                self._fail_job(report, job, f"page {number}: {embedding_failure(exc)}")
        embedded = [(item, vecs) for item, vecs in embedded if not item[0].failed]  # pages before a failure
        return [item for item, _ in embedded], [vecs for _, vecs in embedded]

    def _store_batch(
        self, stored: list[StoredPage], owners: list[_Job], report: IngestReport, bar: Any
    ) -> None:
        """Runs on the writer thread: pages, then the commits of the documents they complete, in order."""
        timer = time.perf_counter()
        try:
            self.store.write_pages(stored)
            self.on_pages_written(stored)
        except Exception as exc:  # the documents of this batch fail; a store that is gone fails in _fail
            log.warning("storing %d page(s) failed: %s", len(stored), exc)
            for job in {id(j): j for j in owners}.values():
                if not job.failed:
                    self._fail_job(report, job, f"storing its pages failed ({exc})")
            return
        report.timings["store"] += time.perf_counter() - timer
        report.pages_added += len(stored)
        for job in owners:
            job.written += 1
        for job in {id(j): j for j in owners}.values():
            if job.written + len(job.done) >= job.total:
                self._finish(job, report)
        bar.update(len(stored))

    def _finish(self, job: _Job, report: IngestReport) -> None:
        if job.committed or job.failed:
            return
        job.committed = True
        notes = "; ".join(job.notes)
        self._commit(job.document, job.total, job.previous_hash, notes)
        report.documents_added += 1
        if job.previous_hash:
            report.documents_replaced += 1
        if notes:
            report.adjusted.append(Failure(job.document.path, notes))
        for alias in job.aliases:
            self._commit(alias, job.total, None, notes)
            report.documents_moved += 1

    # ---- commits and failures -----------------------------------------------------------------------------
    def _commit(self, document: Document, pages: int, previous_hash: str | None, notes: str = "") -> None:
        """Make a document's pages live. `notes` (pages adjusted to fit the model) go in its `reason`."""
        record = DocumentRecord(
            path=document.path,
            content_hash=document.content_hash,
            status="indexed",
            pages=pages,
            reason=notes,
            size=document.size,
            indexed_at=time.time(),
            metadata=document.metadata,
        )
        self.store.write_document(record)
        if previous_hash and previous_hash != document.content_hash:
            self._drop_if_unreferenced([previous_hash])

    def _update_metadata(self, existing: DocumentRecord, document: Document) -> None:
        """Same bytes, new metadata: rewrite the page rows' metadata (what filters read), then the document's
        row (the commit). Pages shared with a copy of the file under another path take the newest metadata."""
        metadata = _as_stored(document.metadata)
        pages = self.store.update_page_metadata(existing.content_hash, metadata)
        self.store.write_document(replace(existing, metadata=metadata))
        log.info("%s: metadata updated on %d page(s), nothing re-embedded", document.path, pages)

    def _fail_job(self, report: IngestReport, job: _Job, reason: str) -> None:
        """A planned document failed: it, and every copy of its bytes planned beside it, fail with `reason`."""
        job.failed = True
        for document in (job.document, *job.aliases):
            self._fail(report, document.path, reason, document)

    def _fail(self, report: IngestReport, path: str, reason: str, document: Document | None = None) -> None:
        log.info("failed: %s: %s", path, reason)
        report.failed.append(Failure(path, reason))
        existing = self.store.get_documents([path])
        if existing and existing[0].status == "indexed":
            return  # keep the last good version searchable; the failure is reported for this run
        self.store.write_document(
            DocumentRecord(
                path=path,
                content_hash=document.content_hash if document else "",
                status="failed",
                reason=reason,
                size=document.size if document else 0,
                indexed_at=time.time(),
            )
        )

    def _drop_if_unreferenced(self, hashes: Iterable[str]) -> None:
        referenced = {d.content_hash for d in self.store.list_documents('status == "indexed"')}
        self.store.delete_content([h for h in hashes if h not in referenced])

    def _prune(self, inputs: list[str | Path], files: list[Path], known: dict[str, DocumentRecord]) -> int:
        """Drop documents under the given folders whose files no longer exist."""
        roots = [Path(i).expanduser().resolve() for i in inputs if Path(i).expanduser().is_dir()]
        present = {str(f) for f in files}
        gone = [
            path
            for path in known
            if path not in present
            and any(Path(path).is_relative_to(root) for root in roots)
            and not Path(path).exists()
        ]
        if gone:
            hashes = {known[p].content_hash for p in gone}
            self.store.delete_documents(gone)
            self._drop_if_unreferenced(hashes)
        return len(gone)

    def collect_garbage(self) -> None:
        """Delete pages whose content no committed document references (left by crashes or failures)."""
        referenced = {d.content_hash for d in self.store.list_documents('status == "indexed"')}
        stored = {p.content_hash for p in self.store.list_pages()}
        orphans = sorted(stored - referenced)
        if orphans:
            log.info("removing pages of %d uncommitted document version(s)", len(orphans))
            self.store.delete_content(orphans)
        self.store.compact_vector_files()


class BackgroundWriter:
    """One thread that performs store writes in submission order, at most one waiting behind the running one."""

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pagelens-store")
        self._pending: Any = None

    def submit(self, function: Callable[..., None], *args: Any) -> None:
        self.drain()
        self._pending = self._executor.submit(function, *args)

    def drain(self) -> None:
        """Wait for the write in flight; re-raise its error here."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def close(self) -> None:
        self._executor.shutdown(wait=True)


def embedding_failure(exc: BaseException) -> str:
    """A plain reason for a page the model's processor or the model itself refused."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    if "aspect ratio" in message:
        return f"its shape is beyond what the model accepts ({message})"
    if isinstance(exc, MemoryError) or "out of memory" in message.lower():
        return "the model ran out of memory on this page"
    return f"the model could not embed it ({exc.__class__.__name__}: {message[:300]})"


def parse_shard(text: str) -> tuple[int, int]:
    """'2/4' -> (2, 4): the second of four parts (1-based)."""
    try:
        part, total = (int(x) for x in text.split("/", 1))
    except ValueError:
        raise UsageError(f"--shard {text!r}: expected I/N, e.g. 1/4") from None
    if not 1 <= part <= total:
        raise UsageError(f"--shard {text!r}: I must be between 1 and N")
    return part, total


def in_shard(path: str, shard: tuple[int, int]) -> bool:
    """Whether `path` belongs to shard (i, n): a stable hash of the path, so every process agrees."""
    part, total = shard
    digest = hashlib.sha1(path.encode()).digest()
    return int.from_bytes(digest[:8], "big") % total == part - 1


def _item_path(item: Path | Document) -> str:
    return item.path if isinstance(item, Document) else str(item)


def _as_stored(metadata: dict[str, Any]) -> dict[str, Any]:
    """Metadata as Milvus' JSON field gives it back (tuples become lists, keys strings), for comparison."""
    result: dict[str, Any] = json.loads(json.dumps(metadata, default=str))
    return result


def _sidecar_metadata(path: Path, extra: dict[str, Any] | None) -> dict[str, Any]:
    """Metadata for a file: `<file>.json` beside it (if any), then `extra` on top."""
    metadata: dict[str, Any] = {}
    sidecar = path.with_name(path.name + ".json")
    if sidecar.is_file():
        try:
            loaded = json.loads(sidecar.read_text())
            if isinstance(loaded, dict):
                metadata.update(loaded)
        except (OSError, ValueError) as exc:
            log.warning("%s: ignoring unreadable metadata sidecar (%s)", sidecar, exc)
    metadata.update(extra or {})
    return metadata


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, enabled: bool) -> Any:
    if not enabled or total == 0:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="page", desc="indexing", file=sys.stderr, dynamic_ncols=True)
