"""The app factory: `create_app(index, token=...)` -> a FastAPI app serving /api and the web page at /.

The caller opens the index (and loads its model) once; the app only wraps it. Importing this module loads
neither torch nor pymilvus.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pagelens import __version__
from pagelens.server.auth import require_token
from pagelens.server.errors import install_error_handlers
from pagelens.server.limits import BodyLimit
from pagelens.server.responses import errors
from pagelens.server.routes_documents import documents_router
from pagelens.server.routes_pages import pages_router
from pagelens.server.routes_search import search_router
from pagelens.server.schemas import HealthResponse, ServerLimits, StatusResponse
from pagelens.server.service import IndexService

if TYPE_CHECKING:
    from pagelens.api import Index

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024

# The page uses only its own script, styles and blob: images; nothing is fetched from elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


class SecurityHeaders:
    """nosniff everywhere; the page's CSP and no-referrer on HTML."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"no-referrer"))
                if any(k == b"content-type" and v.startswith(b"text/html") for k, v in headers):
                    headers.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
                    headers.append((b"x-frame-options", b"DENY"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(
    index: Index, *, token: str | None = None, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
) -> FastAPI:
    """An app over an open `index`. With `token`, every /api route but /api/health needs
    `Authorization: Bearer <token>`. Request bodies (uploads) are capped at `max_upload_bytes`."""
    if max_upload_bytes <= 0:
        raise ValueError("max_upload_bytes must be positive")
    service = IndexService(index)
    app = FastAPI(
        title="pagelens",
        version=__version__,
        description='Search PDF and image pages by how they look. Errors are JSON `{"error": message}`.',
        docs_url=None,  # the Swagger UI would load its assets from a CDN; /openapi.json is the reference
        redoc_url=None,
    )
    app.state.service = service
    install_error_handlers(app)

    guarded = APIRouter(prefix="/api", dependencies=[Depends(require_token(token))])
    guarded.include_router(search_router(service))
    guarded.include_router(pages_router(service))
    guarded.include_router(documents_router(service, max_upload_bytes))

    @guarded.get("/status", response_model=StatusResponse, tags=["index"], responses=errors())
    def status() -> StatusResponse:
        """What the index holds (the shape of `pagelens status --json`), plus this server's limits."""
        data = service.status()
        return StatusResponse(
            **data, server=ServerLimits(max_upload_bytes=max_upload_bytes, auth=token is not None)
        )

    app.include_router(guarded)

    @app.get("/api/health", response_model=HealthResponse, tags=["index"])
    def health() -> HealthResponse:
        """Liveness (no token needed, no data): the server is up."""
        return HealthResponse(status="ok")

    @app.get("/", include_in_schema=False)
    def page() -> Response:
        return FileResponse(
            STATIC / "index.html", media_type="text/html", headers={"Cache-Control": "no-cache"}
        )

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimit, max_bytes=max_upload_bytes)
    app.add_middleware(SecurityHeaders)
    return app
