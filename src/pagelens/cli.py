"""`pagelens` command line: a thin layer over the library. Turns errors into messages and exit codes.

Exit codes: 0 all done; 1 error; 2 usage error; 3 partial (some inputs failed, the rest were indexed).
Only the standard library is imported at start, so `pagelens --help` is instant.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from pagelens.commands.quiet import add_quiet_option, silenced

if TYPE_CHECKING:
    from pagelens.api import Index
    from pagelens.results import Hit

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3
QUIET_LOADING = frozenset({"search", "similar", "eval"})

#: Commands that live in modules of their own. Each module imports only the standard library at its top and
#: has `register(commands)`, which adds its subparser(s) and sets `handler=` on each (see pagelens/commands/).
COMMAND_MODULES: tuple[str, ...] = (
    "pagelens.commands.mcp",
    "pagelens.commands.models",
    "pagelens.commands.ls",
    "pagelens.commands.show",
)

log = logging.getLogger("pagelens")


# ---- shared options -------------------------------------------------------------------------------------
def _add_index_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--index",
        default=None,
        metavar="URI",
        help="index folder (Milvus Lite) or Milvus server URL; default $PAGELENS_INDEX or ./pagelens_index",
    )
    parser.add_argument("--token", default=None, help="Milvus server credentials (default $PAGELENS_TOKEN)")
    parser.add_argument("--collection", default="pagelens", help="collection name prefix (default: pagelens)")


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default=None,
        metavar="NAME_OR_PATH",
        help="ColPali-family checkpoint (hub name or local folder); default $PAGELENS_MODEL, "
        "else the index's own model, else the project default",
    )
    parser.add_argument(
        "--device", default="auto", choices=["auto", "cpu", "cuda", "mps"], help="default: auto"
    )
    parser.add_argument("--batch-size", type=int, default=None, metavar="N", help="pages per model batch")


def _add_filter_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--path", default=None, metavar="GLOB", help="only documents whose path matches (glob or prefix)"
    )
    parser.add_argument("--pages", default=None, metavar="A-B", help="only pages in this 1-based range")
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="metadata condition (=, !=, >, >=, <, <=)",
    )


def _filter(args: argparse.Namespace) -> dict[str, Any] | None:
    from pagelens.search.filters import parse_pages, parse_where

    spec: dict[str, Any] = {}
    if args.path:
        spec["path"] = args.path
    if args.pages:
        spec["pages"] = parse_pages(args.pages)
    if args.where:
        spec["metadata"] = parse_where(args.where)
    return spec or None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    """No abbreviated options: `--mode` must never be read as `--model`, nor a typo as another option."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pagelens",
        description="Search PDFs and scanned pages by how they look (ColPali-family models + Milvus).",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    parser.add_argument(
        "-q", "--quiet", dest="quiet_all", action="store_true", help="print nothing but errors (any command)"
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    index = commands.add_parser("index", help="index PDFs, images and folders")
    index.add_argument("paths", nargs="+", metavar="PATH")
    _add_index_options(index)
    _add_model_options(index)
    index.add_argument("--include", action="append", default=[], metavar="GLOB", help="only files matching")
    index.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="skip files matching")
    index.add_argument("--password", default=None, help="password for encrypted PDFs")
    index.add_argument(
        "--prune", action="store_true", help="drop indexed files under PATH that no longer exist"
    )
    index.add_argument(
        "--shard",
        default=None,
        metavar="I/N",
        help="index only part I of N (run N processes to share the work)",
    )
    index.add_argument("--image-column", default=None, help="datasets: the column holding page images")
    index.add_argument("--id-column", default=None, help="datasets: the column holding row ids")
    index.add_argument(
        "--pool-factor",
        type=_positive,
        default=None,
        metavar="N",
        help="new index: store ~1/N of each page's vectors (hierarchical token pooling; kept by the index)",
    )
    index.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")
    index.add_argument("--json", action="store_true", help="print the report as JSON")
    index.set_defaults(handler=cmd_index)

    search = commands.add_parser("search", help="search the index with text or an image")
    search.add_argument("query", nargs="?", default=None, metavar="QUERY")
    search.add_argument("--image", default=None, metavar="FILE", help="search with an image instead of text")
    _add_index_options(search)
    _add_model_options(search)
    search.add_argument("-k", type=_positive, default=5, help="number of results (default 5)")
    search.add_argument("--exact", action="store_true", help="score every page exactly (slow on big indexes)")
    search.add_argument(
        "--candidates",
        type=_positive,
        default=None,
        metavar="N",
        help="pages scored exactly first, after candidate generation (more: better recall, slower)",
    )
    add_quiet_option(search)
    search.add_argument(
        "--queries", default=None, metavar="FILE", help="one query per line (or JSONL with 'query')"
    )
    _add_filter_options(search)
    search.add_argument(
        "--mode",
        choices=("visual", "text", "hybrid"),
        default=None,
        help="visual (page images), text (the pages' text, BM25; no model needed) or hybrid (both fused); "
        "default hybrid when the index has text, else visual",
    )
    search.add_argument("--json", action="store_true", help="print JSON (JSON lines with --queries)")
    search.set_defaults(handler=cmd_search)

    similar = commands.add_parser("similar", help="pages that look like an indexed page")
    similar.add_argument("document", metavar="PATH")
    similar.add_argument("--page", type=_positive, required=True, metavar="N", help="1-based page number")
    _add_index_options(similar)
    similar.add_argument("-k", type=_positive, default=5, help="number of results (default 5)")
    similar.add_argument("--exact", action="store_true", help="score every page exactly")
    add_quiet_option(similar)
    _add_filter_options(similar)
    similar.add_argument("--json", action="store_true", help="print JSON")
    similar.set_defaults(handler=cmd_similar)

    remove = commands.add_parser("remove", help="remove documents (or everything under a folder)")
    remove.add_argument("paths", nargs="+", metavar="PATH")
    _add_index_options(remove)
    remove.add_argument(
        "--yes", action="store_true", help="needed when the paths cover every document in the index"
    )
    remove.add_argument("--dry-run", action="store_true", help="list what would be removed; remove nothing")
    add_quiet_option(remove)
    remove.set_defaults(handler=cmd_remove)

    status = commands.add_parser("status", help="what the index holds")
    _add_index_options(status)
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(handler=cmd_status)

    serve = commands.add_parser("serve", help="HTTP API and web page")
    _add_index_options(serve)
    _add_model_options(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--api-token",
        default=None,
        help="bearer token for the HTTP API (default: --token / $PAGELENS_API_TOKEN / $PAGELENS_TOKEN)",
    )
    serve.add_argument(
        "--max-upload-mb", type=int, default=None, help="largest upload accepted (default 100)"
    )
    serve.set_defaults(handler=cmd_serve)

    export = commands.add_parser("export", help="write the index to Parquet files (no re-embedding needed)")
    export.add_argument("folder", metavar="FOLDER")
    _add_index_options(export)
    export.set_defaults(handler=cmd_export)

    load = commands.add_parser("import", help="load an export into this index (Lite or server)")
    load.add_argument("folder", metavar="FOLDER")
    _add_index_options(load)
    load.set_defaults(handler=cmd_import)

    evaluate = commands.add_parser("eval", help="retrieval quality on a judged query set")
    evaluate.add_argument(
        "qrels", metavar="QRELS", help="JSONL of {query, relevant:[{path, page}]} or a ViDoRe dataset"
    )
    _add_index_options(evaluate)
    _add_model_options(evaluate)
    evaluate.add_argument("-k", type=_positive, default=10, help="ranking depth (default 10)")
    evaluate.add_argument("--id-column", default=None, help="ViDoRe/BEIR: the corpus id column")
    evaluate.add_argument(
        "--mode",
        choices=("visual", "text", "hybrid", "all"),
        default=None,
        help="search mode to evaluate; 'all': visual, text and hybrid side by side (default: the index's)",
    )
    evaluate.add_argument("--json", action="store_true", help="print JSON")
    evaluate.set_defaults(handler=cmd_eval)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def _version() -> str:
    from pagelens import __version__

    return f"pagelens {__version__}"


# ---- opening the index ------------------------------------------------------------------------------------
def _open(args: argparse.Namespace, *, model_needed: bool = False, create: bool = True) -> Index:
    """The index `--index` names; `create=False` (read commands): NotFoundError where there is none."""
    import pagelens
    from pagelens.api import DEFAULT_MODEL

    model = getattr(args, "model", None) or os.environ.get("PAGELENS_MODEL") or None
    extra: dict[str, Any] = {}
    if getattr(args, "candidates", None) is not None:
        extra["candidates"] = args.candidates
    index = pagelens.open(
        args.index,
        model=model,
        token=args.token,
        collection=args.collection,
        device=getattr(args, "device", "auto"),
        batch_size=getattr(args, "batch_size", None),
        create=create,
        **extra,
    )
    if model_needed and index.model is None and index.info.dim is None:
        index.close()
        index = pagelens.open(
            args.index,
            model=DEFAULT_MODEL,
            token=args.token,
            collection=args.collection,
            device=getattr(args, "device", "auto"),
            batch_size=getattr(args, "batch_size", None),
        )
    return index


@contextlib.contextmanager
def _first_run_cleanup(args: argparse.Namespace, *, model_needed: bool = False) -> Iterator[Index]:
    """Open for writing; if this run created the folder and ends with no document in it (an error, or nothing
    indexed), remove the folder again, so a failed first `index`/`import` leaves nothing behind."""
    from pagelens.commands.index_folder import new_lite_folder, remove_new_folder

    created = new_lite_folder(args)
    try:
        index = _open(args, model_needed=model_needed)
    except Exception:
        remove_new_folder(created)
        raise
    interrupted = False
    try:
        yield index
    except KeyboardInterrupt:  # a re-run resumes what was written
        interrupted = True
        raise
    finally:
        keep = interrupted or created is None or _holds_documents(index)
        index.close()
        if not keep:
            remove_new_folder(created)


def _holds_documents(index: Index) -> bool:
    try:
        return bool(index.documents())  # failed documents count: `status` lists them
    except Exception:  # cannot tell: keep what may be there
        return True


# ---- commands ---------------------------------------------------------------------------------------------
def cmd_index(args: argparse.Namespace) -> int:
    from pagelens.ingest import parse_shard

    with _first_run_cleanup(args, model_needed=True) as index:
        report = index.add(
            args.paths,
            include=args.include,
            exclude=args.exclude,
            password=args.password,
            prune=args.prune,
            progress=None if not args.quiet else False,
            image_column=args.image_column,
            id_column=args.id_column,
            shard=parse_shard(args.shard) if args.shard else None,
            pool_factor=args.pool_factor,
        )
    for failure in report.failed:
        print(f"failed: {failure.path}: {failure.reason}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    elif not args.quiet:
        print(report.summary(), file=sys.stderr)
    if report.failed:
        return (
            EXIT_PARTIAL
            if (
                report.documents_added
                or report.documents_unchanged
                or report.documents_moved
                or report.documents_updated
            )
            else EXIT_ERROR
        )
    return EXIT_OK


def _print_hits(query: str, query_type: str, hits: list[Hit], as_json: bool, indent: int | None = 2) -> None:
    if as_json:
        payload = {"query": query, "query_type": query_type, "results": [h.to_dict() for h in hits]}
        print(json.dumps(payload, indent=indent))
        return
    if not hits:
        print("no results")
        return
    for hit in hits:
        print(f"{hit.rank:>3}  {hit.score:9.4f}  {hit.path}  page {hit.page}")
        if hit.snippet:
            print(f"     {hit.snippet}")


def cmd_search(args: argparse.Namespace) -> int:
    if sum(x is not None for x in (args.query, args.image, args.queries)) != 1:
        raise _Usage("give one of QUERY, --image FILE or --queries FILE")
    from pagelens import cli_through_server as through_server

    url = through_server.served_url(args)
    if url is not None and through_server.can_search(args):
        return through_server.search(args, url)
    spec = _filter(args)
    with _open(args, create=False) as index:
        _check_where(index, spec)
        if args.image is not None:
            hits = index.search(
                image=_image_arg(args.image), k=args.k, exact=args.exact, filter=spec, mode=args.mode
            )
            _print_hits(args.image, "image", hits, args.json)
        elif args.queries is not None:
            queries = _read_queries(args.queries)
            for query, hits in zip(
                queries,
                index.search_many(queries, k=args.k, exact=args.exact, filter=spec, mode=args.mode),
                strict=True,
            ):
                if not args.json:
                    print(f"# {query}")
                _print_hits(query, "text", hits, args.json, indent=None)
        else:
            hits = index.search(args.query, k=args.k, exact=args.exact, filter=spec, mode=args.mode)
            _print_hits(args.query, "text", hits, args.json)
    return EXIT_OK


def _check_where(index: Index, spec: dict[str, Any] | None) -> None:
    """A `--where` that can match nothing here (unknown key, values of another type) is a usage error that
    says why, not "no results"."""
    if not spec or not spec.get("metadata"):
        return
    from pagelens.errors import UsageError
    from pagelens.search.filters import explain_no_match

    reason = explain_no_match(spec["metadata"], (r.metadata or {} for r in index.catalog.by_id.values()))
    if reason is not None:
        raise UsageError(f"--where: {reason}")


def _read_queries(path: str) -> list[str]:
    from pathlib import Path

    from pagelens.errors import SourceError

    try:
        lines = [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]
    except OSError as exc:
        raise SourceError(path, f"cannot read file ({exc.strerror or exc})") from exc
    queries = []
    for number, line in enumerate(lines, start=1):
        if line.startswith("{"):
            try:
                queries.append(str(json.loads(line)["query"]))
            except (ValueError, KeyError):
                raise SourceError(path, f"line {number} is not JSON with a 'query' key") from None
        else:
            queries.append(line)
    return queries


def _image_arg(path: str) -> Any:
    from pathlib import Path

    from pagelens.errors import SourceError

    if not Path(path).is_file():
        raise SourceError(path, "no such file")
    return Path(path)


def cmd_similar(args: argparse.Namespace) -> int:
    with _open(args, create=False) as index:
        _check_where(index, _filter(args))
        page_id = index.find_page(args.document, args.page)
        hits = index.similar(page_id, k=args.k, exact=args.exact, filter=_filter(args))
    _print_hits(f"{args.document}#page={args.page}", "page", hits, args.json)
    return EXIT_OK


def cmd_remove(args: argparse.Namespace) -> int:
    with _open(args, create=False) as index:
        documents = index.documents()
        targets = sorted({d.path for d in index.matching(args.paths, documents)})
        if args.dry_run:
            for path in targets:
                print(path)
            if not args.quiet:
                print(f"would remove {len(targets)} of {len(documents)} document(s)", file=sys.stderr)
            return EXIT_OK
        if len(targets) == len(documents) and _names_a_folder(args.paths, documents) and not args.yes:
            raise _Usage(
                f"{' '.join(args.paths)} covers every document in the index ({len(documents)}): pass --yes "
                "to remove them all, or --dry-run to list them"
            )
        removed = index.remove(targets)
    if not args.quiet:
        print(f"removed {removed} document(s)", file=sys.stderr)
    return EXIT_OK


def _names_a_folder(paths: Sequence[str], documents: Sequence[Any]) -> bool:
    """Whether one of `paths` matched documents as a folder (everything under it), not as a document."""
    from pathlib import Path

    indexed = {d.path for d in documents}
    return any(p not in indexed and str(Path(p).expanduser().resolve()) not in indexed for p in paths)


def cmd_status(args: argparse.Namespace) -> int:
    from pagelens import cli_through_server as through_server

    url = through_server.served_url(args)
    if url is not None:
        return through_server.status(args, url)
    from pagelens.results import storage_lines

    with _open(args, create=False) as index:
        status = index.status()
    if args.json:
        print(json.dumps(status.to_dict(), indent=2))
        return EXIT_OK
    print(f"index:     {status.location}")
    print(f"model:     {status.model or '(none)'}")
    print(f"documents: {status.documents}")
    print(f"pages:     {status.pages}")
    print(f"vectors:   {status.vectors}")
    for line in storage_lines(status.to_dict()):
        print(line)
    if status.failed:
        print(f"failed:    {len(status.failed)}")
        for failure in status.failed:
            print(f"  {failure.path}: {failure.reason}")
    if status.adjusted:
        print(f"adjusted:  {len(status.adjusted)} (indexed; pages padded to a shape the model accepts)")
        for note in status.adjusted:
            print(f"  {note.path}: {note.reason}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    with _open(args, create=False) as index:
        report = index.export(args.folder)
    if not args.quiet:
        print(
            f"exported {report.documents} document(s), {report.pages} page(s) to {args.folder}",
            file=sys.stderr,
        )
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    with _first_run_cleanup(args) as index:
        report = index.import_(args.folder)
    if not args.quiet:
        print(
            f"imported {report.documents} document(s), {report.pages} page(s); "
            f"{report.skipped_documents} already present",
            file=sys.stderr,
        )
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        from pagelens.server.run import api_token, refuse_reason, serve
    except ImportError as exc:
        from pagelens.errors import MissingDependencyError

        raise MissingDependencyError("the HTTP server", "server") from exc
    if refuse_reason(args.host, api_token(args)) is None:  # a refusal is reported first, by serve
        from pagelens.commands.index_folder import require_index

        require_index(args)
    return serve(args)


def cmd_eval(args: argparse.Namespace) -> int:
    try:
        from pagelens.evaluate.command import run_eval
    except ImportError as exc:
        from pagelens.errors import MissingDependencyError

        raise MissingDependencyError("evaluation", "eval") from exc
    return run_eval(args)


class _Usage(Exception):
    pass


# ---- entry point ------------------------------------------------------------------------------------------
def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if verbosity == 0:
        logging.getLogger("transformers").setLevel(logging.ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    _configure_logging(args.verbose)
    args.quiet = bool(getattr(args, "quiet", False) or args.quiet_all)
    with silenced() if args.quiet else contextlib.nullcontext():
        return _run(parser, args)


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Run the chosen command behind the one error boundary: errors become messages and exit codes."""
    if args.command in QUIET_LOADING and args.verbose == 0:
        # a query should print results, not transformers' "Loading weights" bar (HF reads this at import)
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    handler: Callable[[argparse.Namespace], int] = args.handler
    from pagelens.errors import PagelensError, SourceError, UsageError

    try:
        code = handler(args)
        sys.stdout.flush()  # a closed pipe (`pagelens search ... | head -1`) shows here, not at exit
        return code
    except BrokenPipeError:
        return _stdout_closed()
    except _Usage as exc:
        parser.error(str(exc))
    except UsageError as exc:
        print(f"pagelens: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SourceError as exc:
        print(f"pagelens: error: {exc.path}: {exc.reason}", file=sys.stderr)
        return EXIT_ERROR
    except PagelensError as exc:
        print(f"pagelens: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("pagelens: interrupted; completed documents are kept, re-run to finish", file=sys.stderr)
        return 130
    return EXIT_ERROR  # pragma: no cover - parser.error exits


def _stdout_closed() -> int:
    """The reader of our output went away (`| head -1`): stop quietly, as command-line tools do."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # nothing more to flush at exit, so no message about it
    except (OSError, ValueError):
        pass
    return 128 + 13  # as a process killed by SIGPIPE reports it


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
