"""`pagelens serve`: open the index, load the model once, and run the app under uvicorn.

The HTTP token is `--token` / `$PAGELENS_TOKEN` (or, to keep it apart from Milvus server credentials,
`--api-token` / `$PAGELENS_API_TOKEN`, which win). Listening on anything but loopback without a token
is refused (exit 2).
The upload limit is `args.max_upload_mb` when the CLI offers it, else `$PAGELENS_MAX_UPLOAD_MB`, else 100 MB.
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import TYPE_CHECKING, Any

from pagelens.server.token_rule import api_token, refuse_reason

if TYPE_CHECKING:
    from pagelens.api import Index

log = logging.getLogger(__name__)

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
DEFAULT_MAX_UPLOAD_MB = 100


def max_upload_bytes(args: argparse.Namespace) -> int:
    value = (
        getattr(args, "max_upload_mb", None)
        or os.environ.get("PAGELENS_MAX_UPLOAD_MB")
        or DEFAULT_MAX_UPLOAD_MB
    )
    megabytes = float(value)
    if megabytes <= 0:
        raise ValueError(f"the upload limit must be positive, got {value}")
    return int(megabytes * 1024 * 1024)


def _open_index(args: argparse.Namespace) -> Index:
    import pagelens
    from pagelens.api import DEFAULT_MODEL

    options: dict[str, Any] = {
        "token": getattr(args, "token", None),
        "collection": getattr(args, "collection", "pagelens"),
        "device": getattr(args, "device", "auto"),
        "batch_size": getattr(args, "batch_size", None),
    }
    model = getattr(args, "model", None) or os.environ.get("PAGELENS_MODEL") or None
    index = pagelens.open(args.index, model=model, **options)
    if index.model is None and index.info.dim is None:  # a new, empty index: the project default model
        index.close()
        index = pagelens.open(args.index, model=DEFAULT_MODEL, **options)
    return index


def warm_up(index: Index) -> None:
    """Load the model and the page catalog now, so the first request does not pay for them."""
    if index.model is not None:
        _ = index.embedder
    if index.info.dim is not None:
        _ = index.catalog


def serve(args: argparse.Namespace) -> int:
    """Run the server until interrupted; returns an exit code."""
    token = api_token(args)
    reason = refuse_reason(args.host, token)
    if reason is not None:
        log.error("%s", reason)
        return EXIT_USAGE
    try:
        limit = max_upload_bytes(args)
    except ValueError as exc:
        log.error("%s", exc)
        return EXIT_USAGE
    index = _open_index(args)
    try:
        warm_up(index)
        return serve_index(index, host=args.host, port=args.port, token=token, max_upload_bytes=limit)
    finally:
        index.close()


def serve_index(
    index: Index,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_MB * 1024 * 1024,
    access_log: bool = True,
) -> int:
    """Serve an open index (the caller closes it). Refuses non-loopback hosts without a token."""
    reason = refuse_reason(host, token)
    if reason is not None:
        log.error("%s", reason)
        return EXIT_USAGE
    import uvicorn

    from pagelens.server.app import create_app

    app = create_app(index, token=token, max_upload_bytes=max_upload_bytes)
    config = uvicorn.Config(
        app, host=host, port=port, access_log=access_log, server_header=False, timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    log.info(
        "serving %s on http://%s:%d/ (token %s)",
        index.location.describe(),
        host,
        port,
        "on" if token else "off",
    )
    from pagelens.server.registration import announce

    try:
        with announce(index.location, host, port):
            server.run()
    except SystemExit as exc:  # uvicorn exits (1 or 3, by version) when it cannot bind the port
        log.error("the server could not start on %s:%d (exit status %s)", host, port, exc.code)
        return EXIT_ERROR
    except KeyboardInterrupt:  # uvicorn shuts down gracefully, then re-raises the Ctrl-C it caught
        log.info("stopped")
    return EXIT_OK if server.started else EXIT_ERROR
