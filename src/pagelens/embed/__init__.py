"""Model backends behind one small protocol: pages and queries in, ColPali-style multi-vectors out.

    from pagelens.embed import load_embedder
    embedder = load_embedder("vidore/colqwen2.5-v0.2")          # or a local folder
    pages = embedder.embed_images([pil_image])                 # [float32 (n_i, 128)]
    query = embedder.embed_queries(["Where is the ColBERT table?"])

The backend is chosen from the checkpoint's own config files (see `pagelens.embed.registry`). Importing this
package is cheap: torch, transformers and colpali-engine are imported by `load_embedder`, on first use.
"""

from __future__ import annotations

import logging

from pagelens.embed.protocol import Embedder

__all__ = ["Embedder", "load_embedder"]

logger = logging.getLogger(__name__)


def load_embedder(name_or_path: str, *, device: str = "auto", batch_size: int | None = None) -> Embedder:
    """Load a ColPali-family model from a local folder or the Hugging Face Hub.

    Args:
        name_or_path: a model folder, or a Hub id such as "vidore/colqwen2.5-v0.2" (kept as `model_id`).
        device: "auto" (cuda, then mps, then cpu), "cpu", "cuda", "cuda:N" or "mps".
        batch_size: pages or queries per forward pass; default per device and model family
            (`pagelens.embed.batching`: measured on CPU, from free memory on a GPU).

    Raises:
        ModelNotAvailableError: neither a local folder nor downloadable (the message says how to fix it).
        UnsupportedModelError: the checkpoint is not a ColPali-family model pagelens knows.
        UsageError: a device that is not there, or a bad batch size.
        ModelError: the weights or processor could not be loaded.
    """
    from pagelens.embed.checkpoint import locate_checkpoint
    from pagelens.embed.registry import import_object, select_backend

    checkpoint = locate_checkpoint(name_or_path)
    spec = select_backend(checkpoint)
    logger.info("%s: %s", name_or_path, spec.description)
    backend = import_object(spec.embedder)
    embedder: Embedder = backend.load(checkpoint, spec, device=device, batch_size=batch_size)
    return embedder
