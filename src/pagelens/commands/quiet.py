"""`--quiet`: nothing on stderr but errors. Set before torch, transformers or tqdm are imported (they read
these settings at import), so no "Loading weights" bar, no config warning, no Python warning gets through."""

from __future__ import annotations

import argparse
import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

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


LOGGERS = ("", "pagelens", "transformers", "huggingface_hub", "pymilvus", "colpali_engine")  # "": the root


@contextmanager
def silenced() -> Iterator[None]:
    """Only errors inside: logging at ERROR, progress bars and warnings off. Everything is put back on the
    way out, so a program that calls `pagelens.cli.main([... "--quiet"])` keeps its own logging and warnings.
    (Libraries that read the environment at import keep what they read.)"""
    keys = (*QUIET_ENVIRONMENT, "PYTHONWARNINGS")
    environment = {key: os.environ.get(key) for key in keys}
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    with warnings.catch_warnings():
        for key, value in QUIET_ENVIRONMENT.items():
            os.environ[key] = value
        os.environ["PYTHONWARNINGS"] = "ignore"  # the render worker and other child processes too
        for name in LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)
            for key, saved in environment.items():
                if saved is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = saved
