"""`pagelens show PATH --page N [--out page.png]`: one indexed page: its id, vectors and metadata, and the
page itself rendered again from its source (a PNG with `--out`). Loads no model; never creates an index."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EXIT_OK = 0
DEFAULT_SIDE = 1400


def register(commands: Any) -> None:
    from pagelens.cli import _add_index_options, _positive
    from pagelens.commands.quiet import add_quiet_option

    parser = commands.add_parser("show", help="one indexed page: details, and the page as a PNG with --out")
    parser.add_argument("document", metavar="PATH")
    parser.add_argument("--page", type=_positive, required=True, metavar="N", help="1-based page number")
    parser.add_argument("--out", default=None, metavar="FILE", help="write the page as an image (PNG, JPEG)")
    parser.add_argument(
        "--side",
        type=_positive,
        default=DEFAULT_SIDE,
        metavar="PX",
        help=f"longest side (default {DEFAULT_SIDE})",
    )
    _add_index_options(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_quiet_option(parser)
    parser.set_defaults(handler=cmd_show)


def cmd_show(args: argparse.Namespace) -> int:
    from pagelens.cli import _open
    from pagelens.errors import SourceError

    with _open(args, create=False) as index:
        page_id = index.find_page(args.document, args.page)
        record = index.catalog.by_id[page_id]
        path = index.catalog.path_of(record)
        metadata: dict[str, Any] = dict(record.metadata or {})
        details: dict[str, Any] = {
            "path": path,
            "page": record.page,
            "page_id": str(record.page_id),
            "vectors": record.n_vectors,
            "metadata": metadata,
        }
        if args.out is not None:
            image = index.render_page(page_id, side=args.side)
            try:
                image.save(args.out)
            except (OSError, ValueError) as exc:
                raise SourceError(args.out, f"cannot write the image ({exc})") from exc
            details["out"] = args.out
    if args.json:
        print(json.dumps(details, indent=2))
        return EXIT_OK
    print(f"path:      {details['path']}")
    print(f"page:      {details['page']}")
    print(f"page id:   {details['page_id']}")
    print(f"vectors:   {details['vectors']}")
    for key, value in sorted(metadata.items()):
        print(f"metadata:  {key} = {value}")
    if args.out is not None and not args.quiet:
        print(f"wrote {args.out}", file=sys.stderr)
    return EXIT_OK
