"""A real indexer process for crash tests: `python tests/index_runner.py INDEX PATH...` indexes PATHs with
the deterministic FakeEmbedder (slowed down a little so a kill lands mid-run) and prints the report as JSON."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pagelens  # noqa: E402
from fakes import FakeEmbedder  # noqa: E402


class SlowFakeEmbedder(FakeEmbedder):
    def embed_images(self, images):  # type: ignore[no-untyped-def]
        time.sleep(0.02 * len(images))
        return super().embed_images(images)


def main() -> None:
    index_path, *paths = sys.argv[1:]
    with pagelens.open(index_path, embedder=SlowFakeEmbedder(), batch_size=4) as index:
        report = index.add(paths, progress=False)
    print(json.dumps(report.to_dict()))


if __name__ == "__main__":
    main()
