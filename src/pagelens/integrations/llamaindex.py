"""A LlamaIndex retriever over a pagelens index (`pip install 'pagelens[llamaindex]'`).

    from pagelens.integrations.llamaindex import PagelensRetriever
    retriever = PagelensRetriever(pagelens.open("pagelens_index"), k=3)
    nodes = retriever.retrieve("Where is the revenue table?")        # or: await retriever.aretrieve(...)

Each result is a `NodeWithScore` (score: the MaxSim score) holding an `ImageNode` with `id_` the page id,
`text` the page's text or snippet where the index has one (else ""), and `metadata` the page's own metadata
plus `path`, `page`, `score`, `page_id` and `rank`. `image="base64"` (default) puts the page in the node as a
base64 PNG; `image="path"` leaves the bytes out (consumers read `path` and `page`), with `image_path` set
when the source is itself an image file.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pagelens.errors import PagelensError, UsageError
from pagelens.integrations.locks import index_lock
from pagelens.integrations.optional import optional_extra
from pagelens.integrations.pages import (
    DEFAULT_IMAGE_SIDE,
    check_side,
    hit_metadata,
    hit_text,
    page_png_base64,
)

with optional_extra("llamaindex"):
    from llama_index.core.base.base_retriever import BaseRetriever
    from llama_index.core.callbacks import CallbackManager
    from llama_index.core.schema import ImageNode, NodeWithScore, QueryBundle

if TYPE_CHECKING:
    from pagelens.api import Index
    from pagelens.results import Hit

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff"})
#: Kept out of what the LLM and embedders see of a node: numbers of no meaning to them.
HIDDEN_KEYS = ["score", "page_id", "rank"]


class PagelensRetriever(BaseRetriever):
    """Pages of a pagelens `Index` that best match a query, as `NodeWithScore`s of `ImageNode`s, best first."""

    def __init__(
        self,
        index: Index,
        k: int = 5,
        *,
        filter: dict[str, Any] | str | None = None,
        exact: bool = False,
        image: Literal["base64", "path"] = "base64",
        image_side: int = DEFAULT_IMAGE_SIDE,
        callback_manager: CallbackManager | None = None,
        verbose: bool = False,
    ) -> None:
        if k < 1:
            raise UsageError(f"k must be at least 1, got {k}")
        if image not in ("base64", "path"):
            raise UsageError(f"image must be 'base64' or 'path', got {image!r}")
        self.index = index
        self.k = k
        self.filter = filter
        self.exact = exact
        self.image = image
        self.image_side = check_side(image_side)
        super().__init__(callback_manager=callback_manager, verbose=verbose)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        with index_lock(self.index):
            hits = self.index.search(query_bundle.query_str, k=self.k, exact=self.exact, filter=self.filter)
            return [NodeWithScore(node=self._node(hit), score=hit.score) for hit in hits]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        # the model and Milvus Lite are blocking: run in a thread, keeping the event loop free
        return await asyncio.to_thread(self._retrieve, query_bundle)

    def _node(self, hit: Hit) -> ImageNode:
        metadata = hit_metadata(hit)
        fields: dict[str, Any] = {}
        if self.image == "base64":
            try:
                fields = {"image": page_png_base64(self.index, hit.page_id, self.image_side)}
            except PagelensError as exc:  # the source moved or changed since indexing: keep the hit, say why
                log.warning("no image for page %s: %s", hit.page_id, exc)
                metadata["image_error"] = str(exc)
        elif Path(hit.path).suffix.lower() in IMAGE_SUFFIXES and Path(hit.path).is_file():
            fields = {"image_path": hit.path}
        return ImageNode(
            id_=str(hit.page_id),
            text=hit_text(hit),
            metadata=metadata,
            image_mimetype="image/png" if self.image == "base64" else None,
            excluded_llm_metadata_keys=list(HIDDEN_KEYS),
            excluded_embed_metadata_keys=list(HIDDEN_KEYS),
            **fields,
        )
