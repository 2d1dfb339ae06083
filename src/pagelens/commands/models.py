"""`pagelens models [--json]`: supported model families, recommended checkpoints with their published ViDoRe
scores and licences, and which of them this machine has (Hugging Face cache or local folders; no network)."""

from __future__ import annotations

import argparse
import json
from typing import Any

EXIT_OK = 0


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "models",
        help="supported model families and recommended checkpoints (scores, licences, installed or not)",
        description="List the model families pagelens runs and the recommended checkpoints, with the ViDoRe "
        "scores their cards publish (source URLs included; 'not verified here' where none was checked) and "
        "whether each is on this machine. Looks only at the local Hugging Face cache and the folders given "
        "(--models-dir, $PAGELENS_MODELS_DIR); never at the network.",
    )
    parser.add_argument(
        "--models-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder holding checkpoint folders (or a checkpoint folder); repeatable",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=cmd_models)


def cmd_models(args: argparse.Namespace) -> int:
    from pagelens.embed.catalog import NOT_VERIFIED, listing, model_folders

    data = listing(model_folders(args.models_dir))
    if args.json:
        print(json.dumps(data, indent=2))
        return EXIT_OK
    print("Families (config.json model_type -> class, library):")
    for family in data["families"]:
        installed = family["installed"] or "not installed"
        print(
            f"  {family['key']:<18} {'/'.join(family['model_types']):<22} {family['class']:<28} "
            f"{family['library']} ({installed})"
        )
    print()
    print("Recommended checkpoints:")
    for row in data["checkpoints"]:
        role = {"default": "  [default]", "cpu": "  [CPU pick]"}.get(row["role"], "")
        local = row["local"]
        where = f"local: {local['path']}" if local["available"] else "not on this machine"
        print(f"  {row['name']}{role}")
        print(
            f"    family {row['family']}, {row['parameters']} parameters, "
            f"{row['dim'] or NOT_VERIFIED} dims, licence {row['licence'] or NOT_VERIFIED}; {where}"
        )
        for score in row["scores"]:
            print(f"    {score['benchmark']} {score['metric']} {score['value']:g}  ({score['source']})")
        if row["unverified"]:
            print(f"    {NOT_VERIFIED}: {row['unverified']}")
    if data["local_folders"]:
        print()
        print("Checkpoint folders found:")
        for found in data["local_folders"]:
            print(f"  {found['path']}: {found['family'] or found['error']}")
    return EXIT_OK
