"""`python -m pagelens.samples OUT_DIR [--broken]`: write the sample documents (and the broken files)."""

from __future__ import annotations

import argparse
import sys

from pagelens.samples import write_broken_samples, write_samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pagelens.samples", description="Write pagelens' sample documents into a folder."
    )
    parser.add_argument("folder", help="where to write them (created if missing)")
    parser.add_argument(
        "--broken", action="store_true", help="also write broken files into FOLDER/broken (for testing)"
    )
    args = parser.parse_args(argv)
    try:
        paths = write_samples(args.folder)
        if args.broken:
            paths += write_broken_samples(f"{args.folder}/broken")
    except ImportError as error:
        if error.name not in ("reportlab", "matplotlib"):
            raise
        print(f"error: {error.msg} (install the extra: pip install 'pagelens[samples]')", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: cannot write {error.filename or args.folder}: {error.strerror}", file=sys.stderr)
        return 1
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
