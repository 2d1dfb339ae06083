"""Document routes: list, pages of one document, upload (then index), remove."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from pagelens.errors import UsageError
from pagelens.results import IngestReport
from pagelens.server.errors import UploadRejected, error_response
from pagelens.server.responses import errors, page_url, thumbnail_url
from pagelens.server.schemas import (
    DocumentOut,
    DocumentPagesResponse,
    DocumentsResponse,
    FileFailure,
    PageOut,
    RemoveResponse,
    UploadedFile,
    UploadResponse,
)
from pagelens.server.service import IndexService
from pagelens.server.uploads import save_upload

MAX_FILES = 50
MAX_PATH_CHARS = 4096

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}}
                    },
                }
            }
        },
    }
}


def documents_router(service: IndexService, max_upload_bytes: int) -> APIRouter:
    router = APIRouter(tags=["documents"])

    @router.get("/documents", response_model=DocumentsResponse, responses=errors())
    def list_documents() -> DocumentsResponse:
        """Every document in the index, indexed or failed."""
        documents, first_pages = service.documents()
        return DocumentsResponse(
            documents=[
                DocumentOut(
                    path=d.path,
                    name=os.path.basename(d.path) or d.path,
                    status=d.status,
                    pages=d.pages,
                    reason=d.reason,
                    size=d.size,
                    indexed_at=d.indexed_at,
                    first_page_id=str(first_pages[d.content_hash]) if d.content_hash in first_pages else None,
                    metadata=d.metadata or {},
                )
                for d in sorted(documents, key=lambda d: d.path)
            ]
        )

    @router.get("/documents/pages", response_model=DocumentPagesResponse, responses=errors(404))
    def document_pages(
        path: str = Query(
            min_length=1, max_length=MAX_PATH_CHARS, description="a path from GET /api/documents"
        ),
    ) -> DocumentPagesResponse:
        """One indexed document: its metadata and its pages, in order."""
        document, pages = service.document(path)
        return DocumentPagesResponse(
            path=path,
            name=os.path.basename(path) or path,
            metadata=document.metadata or {},
            pages=[
                PageOut(
                    page=p.page,
                    page_id=str(p.page_id),
                    thumbnail_url=thumbnail_url(p.page_id),
                    page_url=page_url(p.page_id),
                )
                for p in pages
            ],
        )

    @router.post(
        "/documents",
        response_model=UploadResponse,
        responses=errors(400, 409, 413, 415),
        openapi_extra=UPLOAD_BODY,
    )
    async def upload_documents(request: Request) -> Any:
        """Upload PDFs or images (multipart, any field name; `files` by convention) and index them.

        Files that cannot be read are reported by name and reason; if none could be indexed the answer is 422.
        """
        saved: dict[Path, str] = {}
        created: list[Path] = []
        failed: list[FileFailure] = []
        async with request.form(max_files=MAX_FILES, max_fields=MAX_FILES) as form:
            uploads = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
            if not uploads:
                raise UsageError("no files in the upload: send them as multipart file fields named 'files'")
            for upload in uploads:
                try:
                    result = await run_in_threadpool(
                        save_upload, upload.file, service.upload_dir, upload.filename, max_upload_bytes
                    )
                except UploadRejected as exc:
                    if len(uploads) == 1:
                        raise
                    failed.append(FileFailure(file=exc.file, reason=exc.reason))
                    continue
                path = result.path.resolve()
                saved[path] = upload.filename or path.name
                if result.created:
                    created.append(path)
        try:
            report = await run_in_threadpool(service.add, list(saved)) if saved else IngestReport()
        except BaseException:
            for path in created:  # nothing was indexed: leave no stray files behind
                path.unlink(missing_ok=True)
            raise
        rejected: list[Path] = []
        for failure in report.failed:
            resolved = Path(failure.path).resolve()
            failed.append(
                FileFailure(file=saved.get(resolved, os.path.basename(failure.path)), reason=failure.reason)
            )
            if resolved in saved:
                rejected.append(resolved)
        if rejected:
            await run_in_threadpool(_discard, service, rejected)
        indexed = [
            UploadedFile(file=name, path=str(path)) for path, name in saved.items() if path not in rejected
        ]
        if not indexed:
            message = "; ".join(f"{f.file}: {f.reason}" for f in failed) or "nothing was indexed"
            return error_response(422, message, failed=[f.model_dump() for f in failed])
        body = UploadResponse(indexed=indexed, failed=failed, report=_report(report, saved))
        return JSONResponse(body.model_dump())

    @router.delete("/documents", response_model=RemoveResponse, responses=errors(404, 409))
    def remove_document(
        path: str = Query(
            min_length=1, max_length=MAX_PATH_CHARS, description="a path from GET /api/documents"
        ),
    ) -> RemoveResponse:
        """Remove one document by its exact indexed path (an uploaded copy is deleted too)."""
        return RemoveResponse(path=path, removed=service.remove(path))

    return router


def _discard(service: IndexService, paths: list[Path]) -> None:
    service.forget_failed(paths)
    for path in paths:
        path.unlink(missing_ok=True)


def _report(report: IngestReport, saved: dict[Path, str]) -> dict[str, Any]:
    data = report.to_dict()
    data["failed"] = [
        {"path": saved.get(Path(f.path).resolve(), os.path.basename(f.path)), "reason": f.reason}
        for f in report.failed
    ]
    return data
