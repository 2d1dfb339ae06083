"""Read commands through a running `pagelens serve` (see server/registration.py): plain HTTP, standard library
only, so a CLI call that goes this way imports neither torch nor pymilvus."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from pagelens.errors import StoreError, UsageError

TIMEOUT_SECONDS = 120


def get_json(base_url: str, path: str, params: dict[str, Any] | None = None, token: str | None = None) -> Any:
    """GET `base_url + path` with query `params` (a list value repeats the parameter); the decoded JSON body.
    UsageError with the server's message when it refuses the request (400: a bad filter), StoreError when it
    answers with another error or cannot be reached."""
    query = urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v is not None}, doseq=True)
    request = urllib.request.Request(f"{base_url.rstrip('/')}{path}" + (f"?{query}" if query else ""))
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        if exc.code == 400:
            raise UsageError(_detail(exc)) from exc
        raise StoreError(f"the pagelens server at {base_url} answered {exc.code}: {_detail(exc)}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise StoreError(f"cannot reach the pagelens server at {base_url}: {exc}") from exc


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read().decode("utf-8"))
    except (OSError, ValueError):
        return exc.reason if isinstance(exc.reason, str) else str(exc.reason)
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("error") or body
        if isinstance(detail, dict):
            detail = detail.get("message") or detail
        return str(detail)
    return str(body)
