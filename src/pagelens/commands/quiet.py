"""`--quiet`: nothing on stderr but errors. Set before torch, transformers or tqdm are imported (they read
these settings at import), so no "Loading weights" bar, no config warning, no Python warning gets through."""

from __future__ import annotations

import argparse
import logging
import os
import warnings

# read at import by huggingface_hub / transformers / tqdm
QUIET_ENVIRONMENT = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TQDM_DISABLE": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="print nothing but errors (and the results asked for)"
    )


def silence() -> None:
    """Only errors from here on: logging at ERROR, progress bars and warnings off."""
    for key, value in QUIET_ENVIRONMENT.items():
        os.environ[key] = value
    logging.getLogger().setLevel(logging.ERROR)
    for name in ("pagelens", "transformers", "huggingface_hub", "pymilvus", "colpali_engine"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    os.environ["PYTHONWARNINGS"] = "ignore"  # the render worker and other child processes too
