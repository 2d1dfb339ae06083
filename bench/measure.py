"""Measuring helpers the benchmarks share: disk a folder takes, a process' peak RSS, time spent producing items."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def disk_usage(folder: Path) -> int:
    """Allocated bytes of the files under `folder` (symlinks not followed; files that vanish are skipped)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                continue
    return total


def peak_rss() -> int:
    """This process' resident high-water mark, bytes (ru_maxrss is KiB on Linux)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def timed(items: Iterator[T]) -> Iterator[tuple[T, float]]:
    """Each item of `items` with the seconds spent producing it (a generator's work, kept out of other timings)."""
    while True:
        start = time.perf_counter()
        item = next(items, None)
        seconds = time.perf_counter() - start
        if item is None:
            return
        yield item, seconds
