"""Bearer-token access control, and the rule that a server reachable from other machines needs a token.

Every /api route except /api/health requires `Authorization: Bearer <token>` when the app has a token. The
web page itself (static HTML/JS/CSS, no data) loads without one; its script asks for the token, keeps it in
sessionStorage, and sends it as that header on every API call (a `/?token=...` link is read once and
stripped from the address bar). Tokens are never accepted in API query strings, so they stay out of logs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from pagelens.server.token_rule import is_loopback, token_matches

__all__ = ["bearer_scheme", "is_loopback", "require_token", "token_matches"]

bearer_scheme = HTTPBearer(auto_error=False, description="the server's token (--token or $PAGELENS_TOKEN)")


def require_token(token: str | None) -> Callable[..., Awaitable[None]]:
    """A FastAPI dependency that lets a request through only with the right bearer token (none if None)."""

    async def check(credentials: HTTPAuthorizationCredentials | None = Security(bearer_scheme)) -> None:
        if token is None:
            return
        if credentials is None:
            raise HTTPException(401, "authentication required: send 'Authorization: Bearer <token>'")
        if credentials.scheme.lower() != "bearer" or not token_matches(token, credentials.credentials):
            raise HTTPException(401, "invalid token")

    return check
