"""`pagelens mcp --http`: the bearer-token check of `pagelens serve`, as ASGI middleware around the SDK's
streamable HTTP app (which is Starlette, not FastAPI, so server/auth.py's FastAPI dependency cannot wrap it).

The rule itself is not repeated here: which token applies and when a host is refused without one come from
pagelens.server.token_rule (`api_token`, `refuse_reason`, `token_matches`), which needs no FastAPI, so
`pip install pagelens[mcp]` is enough for `pagelens mcp --http`. Tokens are read from the Authorization header only, never from the query string.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pagelens.server.token_rule import token_matches

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BearerTokenMiddleware:
    """HTTP requests without `Authorization: Bearer <token>` get 401 (JSON error); lifespan events pass."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self._problem(scope)
        if problem is None:
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": problem}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b"Bearer"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _problem(self, scope: Scope) -> str | None:
        """Why the request is refused, or None when it carries the right token."""
        for name, value in scope.get("headers", []):
            if bytes(name).lower() == b"authorization":
                scheme, _, given = bytes(value).decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and token_matches(self.token, given.strip()):
                    return None
                return "invalid token"
        return "authentication required: send 'Authorization: Bearer <token>'"
