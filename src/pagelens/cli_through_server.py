"""`pagelens search` and `pagelens status` on a Milvus Lite index that a running `pagelens serve` holds: the
folder admits one process, so instead of "in use" these go through that server's HTTP API (found through
server/registration.py). Standard library only: nothing heavy is imported, so such a search takes well under
a second. `--token` (or $PAGELENS_TOKEN) is sent as the server's bearer token.

Only what the HTTP API answers in one GET goes this way: a text query with -k, --mode, --path, --pages, --where,
--exact and --candidates; --image and --queries open the folder directly, and fail as before while the server
holds it. A filter the server refuses (HTTP 400) is a usage error, as it is without the server.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from pagelens.remote import get_json
from pagelens.results import storage_lines
from pagelens.server.registration import serving_url
from pagelens.store.location import IndexLocation

EXIT_OK = 0
LOCAL_ONLY = ("image", "queries")


def served_url(args: argparse.Namespace) -> str | None:
    """The URL of the `pagelens serve` holding the index `args` names, if any (Milvus Lite only)."""
    uri = args.index or os.environ.get("PAGELENS_INDEX") or "pagelens_index"
    location = IndexLocation.parse(uri, collection=args.collection)
    return serving_url(location)


def _token(args: argparse.Namespace) -> str | None:
    return args.token or os.environ.get("PAGELENS_TOKEN") or None


def can_search(args: argparse.Namespace) -> bool:
    return args.query is not None and not any(getattr(args, name, None) for name in LOCAL_ONLY)


def search_params(args: argparse.Namespace) -> dict[str, Any]:
    """`pagelens search` options as GET /api/search parameters (server/filter_params.py parses them alike)."""
    params: dict[str, Any] = {"q": args.query, "k": args.k}
    if getattr(args, "mode", None):
        params["mode"] = args.mode
    if getattr(args, "path", None):
        params["path"] = [args.path]
    if getattr(args, "pages", None):
        params["pages"] = args.pages
    if getattr(args, "where", None):
        params["where"] = list(args.where)
    if getattr(args, "exact", False):
        params["exact"] = "true"
    if getattr(args, "candidates", None) is not None:
        params["candidates"] = args.candidates
    return params


def search(args: argparse.Namespace, url: str) -> int:
    params = search_params(args)
    payload: dict[str, Any] = get_json(url, "/api/search", params, _token(args))
    if args.json:
        print(json.dumps(payload, indent=2))
        return EXIT_OK
    print(f"(through the pagelens server at {url})", file=sys.stderr)
    results = payload.get("results", [])
    if not results:
        print("no results")
    for hit in results:
        print(f"{hit['rank']:>3}  {hit['score']:9.4f}  {hit['path']}  page {hit['page']}")
        if hit.get("snippet"):
            print(f"     {hit['snippet']}")
    return EXIT_OK


def status(args: argparse.Namespace, url: str) -> int:
    payload: dict[str, Any] = get_json(url, "/api/status", None, _token(args))
    if args.json:
        print(json.dumps(payload, indent=2))
        return EXIT_OK
    print(f"(through the pagelens server at {url})", file=sys.stderr)
    for key in ("location", "model", "documents", "pages", "vectors"):
        if key in payload:
            label = "index" if key == "location" else key
            print(f"{label + ':':<10} {payload[key] if payload[key] is not None else '(none)'}")
    for line in storage_lines(payload):
        print(line)
    failed = payload.get("failed") or []
    if failed:
        print(f"failed:    {len(failed)}")
        for failure in failed:
            print(f"  {failure['path']}: {failure['reason']}")
    return EXIT_OK
