"""`pagelens ls`: the documents of an index, with their pages and status (indexed, failed: why, or indexed
with padded pages). Reads only; never creates an index."""

from __future__ import annotations

import argparse
import json
from typing import Any

EXIT_OK = 0


def register(commands: Any) -> None:
    from pagelens.cli import _add_index_options
    from pagelens.commands.quiet import add_quiet_option

    parser = commands.add_parser("ls", help="list the indexed documents: pages and status")
    parser.add_argument("paths", nargs="*", metavar="PATH", help="only documents at or under these paths")
    _add_index_options(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_quiet_option(parser)
    parser.set_defaults(handler=cmd_ls)


def document_rows(documents: list[Any]) -> list[dict[str, Any]]:
    """One row a document, by path: path, pages, status (indexed / failed / adjusted) and reason."""
    rows = []
    for document in sorted(documents, key=lambda d: d.path):
        status = document.status
        if status == "indexed" and document.reason:
            status = "adjusted"  # indexed, with pages padded to a shape the model accepts
        rows.append(
            {"path": document.path, "pages": document.pages, "status": status, "reason": document.reason}
        )
    return rows


def cmd_ls(args: argparse.Namespace) -> int:
    from pagelens.cli import _open

    with _open(args, create=False) as index:
        documents = index.matching(args.paths) if args.paths else index.documents()
    rows = document_rows(documents)
    if args.json:
        print(json.dumps({"documents": rows}, indent=2))
        return EXIT_OK
    for row in rows:
        reason = f"  ({row['reason']})" if row["reason"] else ""
        print(f"{row['pages']:>6}  {row['status']:<8}  {row['path']}{reason}")
    if not args.quiet:
        indexed = [r for r in rows if r["status"] != "failed"]
        print(
            f"{len(indexed)} document(s), {sum(r['pages'] for r in indexed)} page(s)"
            + (f"; {len(rows) - len(indexed)} failed" if len(rows) > len(indexed) else "")
        )
    return EXIT_OK
