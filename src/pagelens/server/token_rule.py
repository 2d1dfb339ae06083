"""Who may talk to a pagelens server: the token it uses and the rule that a server reachable from other
machines needs one. Standard library only, so `pagelens serve` (FastAPI) and `pagelens mcp --http` (the MCP
SDK's Starlette app) share it without either needing the other's packages.
"""

from __future__ import annotations

import argparse
import hmac
import ipaddress
import os

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def api_token(args: argparse.Namespace) -> str | None:
    for value in (
        getattr(args, "api_token", None),
        os.environ.get("PAGELENS_API_TOKEN"),
        getattr(args, "token", None),
        os.environ.get("PAGELENS_TOKEN"),
    ):
        if value:
            return str(value)
    return None


def is_loopback(host: str) -> bool:
    """Whether binding to `host` keeps the server reachable from this machine only."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def token_matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def refuse_reason(host: str, token: str | None) -> str | None:
    """Why serving on `host` is refused, or None when it is allowed."""
    if token or is_loopback(host):
        return None
    return (
        f"refusing to listen on {host} without a token: anyone who can reach this machine could read and "
        "change the index. Set --token (or $PAGELENS_TOKEN), or bind to 127.0.0.1"
    )
