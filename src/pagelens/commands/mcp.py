"""`pagelens mcp`: serve the index to agents over the Model Context Protocol (stdio, or streamable HTTP with
`--http`). Needs the `mcp` extra (pip install 'pagelens[mcp]'); `--http` also the `server` extra.

`--http` follows the token rule of `pagelens serve`: the token is `--api-token` / `$PAGELENS_API_TOKEN`,
else `--token` / `$PAGELENS_TOKEN`; a host other than loopback without a token is refused (exit 2).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

log = logging.getLogger("pagelens")

EXIT_OK, EXIT_USAGE = 0, 2
DEFAULT_PORT = 8765


def register(commands: Any) -> None:
    from pagelens.cli import _add_index_options, _add_model_options

    parser = commands.add_parser(
        "mcp",
        help="MCP server for agents (tools: search, get_page, list_documents)",
        description="Serve the index over the Model Context Protocol: stdio by default (what MCP clients "
        "spawn), streamable HTTP at http://HOST:PORT/mcp with --http. The model loads on the first search.",
    )
    _add_index_options(parser)
    _add_model_options(parser)
    parser.add_argument("--http", action="store_true", help="streamable HTTP instead of stdio")
    parser.add_argument("--host", default="127.0.0.1", help="--http: address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"--http: port (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--api-token",
        default=None,
        help="--http: bearer token clients must send (default $PAGELENS_API_TOKEN, else --token / "
        "$PAGELENS_TOKEN); required for a non-loopback --host",
    )
    parser.set_defaults(handler=cmd_mcp)


def cmd_mcp(args: argparse.Namespace) -> int:
    from pagelens.cli import _open
    from pagelens.integrations import mcp_server  # MissingDependencyError (naming the extra) without it

    if args.verbose == 0:  # progress bars of a model load would only clutter the client's server log
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    token = None
    if args.http:
        from pagelens.server.token_rule import api_token, refuse_reason

        token = api_token(args)
        reason = refuse_reason(args.host, token)
        if reason is not None:
            print(f"pagelens: error: {reason}", file=sys.stderr)
            return EXIT_USAGE
    with _open(args, create=False) as index:  # a read command: a mistyped --index creates nothing
        if args.http:
            return mcp_server.run_http(index, host=args.host, port=args.port, token=token)
        log.info("pagelens MCP server for %s on stdio", index.location.describe())
        mcp_server.run_stdio(index)
    return EXIT_OK
