"""pagelens errors -> HTTP status codes, and every error response as JSON `{"error": message}`.

Bad input never becomes a 500: library errors map to 4xx (or 503 when the model or store is down); only
a genuine bug answers 500, with a generic message (the traceback goes to the log, not the client).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pagelens.errors import (
    IndexBusyError,
    IndexMismatchError,
    MissingDependencyError,
    ModelError,
    NotFoundError,
    PagelensError,
    SourceError,
    StoreError,
    UsageError,
)

log = logging.getLogger(__name__)

# Most specific first: the first class an error is an instance of decides.
STATUS_BY_ERROR: list[tuple[type[PagelensError], int]] = [
    (UsageError, 400),
    (NotFoundError, 404),
    (SourceError, 422),
    (IndexBusyError, 409),
    (IndexMismatchError, 409),
    (ModelError, 503),
    (MissingDependencyError, 503),
    (StoreError, 503),
]


class UploadRejected(PagelensError):
    """An uploaded file was refused before indexing (name, type or size). `file` is the name as sent."""

    def __init__(self, file: str, reason: str, status: int = 422) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason
        self.status = status


def status_for(exc: PagelensError) -> int:
    if isinstance(exc, UploadRejected):
        return exc.status
    for cls, status in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status
    return 500


def error_response(status: int, message: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_message(errors: list[dict[str, Any]]) -> str:
    parts = []
    for item in errors[:5]:
        loc = list(item.get("loc", ()))
        if loc and loc[0] in ("query", "path", "body", "header"):  # where it came from, not its name
            loc = loc[1:]
        where = ".".join(str(p) for p in loc)
        parts.append(f"{where}: {item.get('msg', 'invalid')}" if where else str(item.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PagelensError)
    async def _pagelens_error(request: Request, exc: PagelensError) -> JSONResponse:
        status = status_for(exc)
        if status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc)
        if isinstance(exc, UploadRejected):
            return error_response(status, str(exc), failed=[{"file": exc.file, "reason": exc.reason}])
        return error_response(status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [dict(e) for e in exc.errors()]
        detail = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in errors
        ]
        return error_response(422, _validation_message(errors), detail=detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = error_response(exc.status_code, str(exc.detail))
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return error_response(500, "internal server error (see the server log)")
