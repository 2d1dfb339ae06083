"""`pagelens mcp`: the pagelens tools (mcp_tools.py) as a Model Context Protocol server on the official
`mcp` SDK (2.x, `MCPServer`), over stdio or streamable HTTP.

Tools: `search` (JSON: results with path, page, score, page_id, as `pagelens search --json`), `get_page`
(the page as a PNG image content item), `list_documents`. Any failure of a tool comes back as an MCP tool
error (`isError: true`) with a plain message; the server keeps running. Over stdio the SDK points fd 1 at
stderr while it serves, so stray output from libraries cannot corrupt the protocol; our logging goes to
stderr.

No `from __future__ import annotations` here: the SDK reads the tools' annotations to build their schemas.
"""

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

from pagelens.errors import PagelensError
from pagelens.integrations.mcp_tools import DEFAULT_DOCUMENT_LIMIT, MAX_DOCUMENT_LIMIT, MAX_K, PagelensTools
from pagelens.integrations.optional import optional_extra
from pagelens.integrations.pages import DEFAULT_IMAGE_SIDE, MAX_IMAGE_SIDE, MIN_IMAGE_SIDE

with optional_extra("mcp"):
    from mcp.server.mcpserver import Image, MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations
    from pydantic import Field

if TYPE_CHECKING:
    from pagelens.api import Index

log = logging.getLogger(__name__)

MCP_PATH = "/mcp"
INSTRUCTIONS = (
    "pagelens searches PDF pages and scans by how they look (a ColPali-family vision model). "
    "Call `search` with a natural-language description of the page you want; each result has a page_id. "
    "Call `get_page` with a page_id to see the page image. `list_documents` lists what is indexed."
)
#: Tool descriptions, as agents read them (the SDK would pass a docstring on with its indentation).
DESCRIPTIONS = {
    "search": "Find the pages that best match a query, best first. Each result: rank, score, path, page "
    "(1-based), page_id (pass it to get_page) and the page's metadata.",
    "get_page": "The page as a PNG image (rendered again from its source file), after a line of JSON naming it.",
    "list_documents": "The documents in the index: path, page count and status ('indexed', or 'failed' with "
    "a reason), with totals.",
}
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True)


@contextmanager
def tool_errors(tool: str) -> Iterator[None]:
    """Every failure -> an MCP tool error with a plain message: pagelens errors say what went wrong; anything
    else is logged (traceback with -vv) and reported as an internal error."""
    try:
        yield
    except PagelensError as exc:
        raise ToolError(str(exc)) from None
    except Exception as exc:
        log.error("tool %s failed: %s: %s", tool, type(exc).__name__, exc)
        log.debug("tool %s failed", tool, exc_info=True)
        raise ToolError(f"internal error in {tool}: {type(exc).__name__}: {exc}") from None


def build_server(index: "Index", *, name: str = "pagelens") -> MCPServer:
    """An MCP server whose tools search `index` (the caller keeps it open while the server runs)."""
    from pagelens import __version__

    tools = PagelensTools(index)
    server: MCPServer = MCPServer(name, instructions=INSTRUCTIONS, version=__version__, log_level="WARNING")

    @server.tool(title="Search pages", description=DESCRIPTIONS["search"], annotations=READ_ONLY)
    def search(
        query: Annotated[str, Field(description="what the page looks like or says, in plain words")],
        k: Annotated[int, Field(ge=1, le=MAX_K, description="number of results")] = 5,
        path: Annotated[
            str | None, Field(description="only documents whose path matches this glob or prefix")
        ] = None,
        pages: Annotated[
            str | None, Field(description="only pages in this 1-based range: 'N' or 'A-B'")
        ] = None,
        where: Annotated[
            list[str] | None,
            Field(description="page metadata conditions, each 'KEY=VALUE' (or !=, >, >=, <, <=)"),
        ] = None,
    ) -> dict[str, Any]:
        with tool_errors("search"):
            return tools.search(query, k, path=path, pages=pages, where=where)

    @server.tool(
        title="Get a page image",
        description=DESCRIPTIONS["get_page"],
        annotations=READ_ONLY,
        structured_output=False,
    )
    def get_page(
        page_id: Annotated[str, Field(description="a page_id from a search result")],
        max_side: Annotated[
            int | None,
            Field(
                ge=MIN_IMAGE_SIDE,
                le=MAX_IMAGE_SIDE,
                description=f"longest side of the image in pixels (default {DEFAULT_IMAGE_SIDE})",
            ),
        ] = None,
    ) -> list[Any]:
        with tool_errors("get_page"):
            info, data = tools.get_page(page_id, max_side)
        return [json.dumps(info), Image(data=data, format="png")]

    @server.tool(title="List documents", description=DESCRIPTIONS["list_documents"], annotations=READ_ONLY)
    def list_documents(
        path: Annotated[str | None, Field(description="only paths matching this glob or prefix")] = None,
        limit: Annotated[
            int, Field(ge=1, le=MAX_DOCUMENT_LIMIT, description="list at most this many documents")
        ] = DEFAULT_DOCUMENT_LIMIT,
    ) -> dict[str, Any]:
        with tool_errors("list_documents"):
            return tools.list_documents(path, limit)

    return server


def run_stdio(index: "Index") -> None:
    """Serve `index` over stdin/stdout until the client closes the connection."""
    build_server(index).run("stdio")


def run_http(index: "Index", *, host: str, port: int, token: str | None) -> int:
    """Serve `index` over streamable HTTP at http://host:port/mcp; with a token, every request needs
    `Authorization: Bearer <token>` (the caller has applied the token rule of `pagelens serve`).
    Returns an exit code."""
    import uvicorn  # a dependency of the mcp SDK itself

    from pagelens.integrations.mcp_http import BearerTokenMiddleware

    server = build_server(index)
    app: Any = server.streamable_http_app(streamable_http_path=MCP_PATH, host=host)
    if token:
        app = BearerTokenMiddleware(app, token)
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", server_header=False, timeout_graceful_shutdown=5
    )
    runner = uvicorn.Server(config)
    print(
        f"pagelens: MCP server for {index.location.describe()} on http://{host}:{port}{MCP_PATH} "
        f"(token {'on' if token else 'off'})",
        file=sys.stderr,
        flush=True,
    )
    try:
        runner.run()
    except SystemExit as exc:  # uvicorn exits when it cannot bind the port
        log.error("the MCP server could not start on %s:%d (exit status %s)", host, port, exc.code)
        return 1
    except KeyboardInterrupt:
        pass
    return 0 if runner.started else 1
