"""A LangChain retriever over a pagelens index (`pip install 'pagelens[langchain]'`).

    from pagelens.integrations.langchain import PagelensRetriever
    retriever = PagelensRetriever(index=pagelens.open("pagelens_index"), k=3)
    documents = retriever.invoke("Where is the revenue table?")      # or: await retriever.ainvoke(...)

Each `Document` is one page: `page_content` is the page's text or snippet where the index has one (today's
indexes hold page images only, so it is ""), `metadata` the page's own metadata plus `path`, `page`, `score`,
`page_id` and `rank`; `include_image=True` adds the page as a base64 PNG (`image_base64`, `image_mime_type`)
for multimodal chains.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pagelens.api import Index
from pagelens.errors import PagelensError
from pagelens.integrations.locks import index_lock
from pagelens.integrations.optional import optional_extra
from pagelens.integrations.pages import (
    DEFAULT_IMAGE_SIDE,
    MAX_IMAGE_SIDE,
    MIN_IMAGE_SIDE,
    hit_metadata,
    hit_text,
    page_png_base64,
)

with optional_extra("langchain"):
    from langchain_core.callbacks import (
        AsyncCallbackManagerForRetrieverRun,
        CallbackManagerForRetrieverRun,
    )
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever
    from pydantic import Field

log = logging.getLogger(__name__)

IMAGE_KEY, IMAGE_MIME_KEY = "image_base64", "image_mime_type"


class PagelensRetriever(BaseRetriever):
    """Pages of a pagelens `Index` that best match a query, as LangChain `Document`s, best first."""

    index: Index
    """An open index (`pagelens.open(...)`); the caller closes it."""
    k: int = Field(default=5, ge=1)
    """Number of pages to return."""
    filter: dict[str, Any] | str | None = None
    """As `Index.search(filter=...)`: {"path": glob, "pages": (a, b), "metadata": {...}} or an expression."""
    exact: bool = False
    """Score every page exactly instead of the candidate search (slow on big indexes)."""
    include_image: bool = False
    """Attach each page as a base64 PNG in `metadata["image_base64"]`."""
    image_side: int = Field(default=DEFAULT_IMAGE_SIDE, ge=MIN_IMAGE_SIDE, le=MAX_IMAGE_SIDE)
    """Longest side of attached images, in pixels."""

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        with index_lock(self.index):
            hits = self.index.search(query, k=self.k, exact=self.exact, filter=self.filter)
            documents = []
            for hit in hits:
                metadata = hit_metadata(hit)
                if self.include_image:
                    metadata.update(self._image(hit.page_id))
                documents.append(Document(page_content=hit_text(hit), metadata=metadata, id=str(hit.page_id)))
        return documents

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        # the model and Milvus Lite are blocking: run in a thread, keeping the event loop free
        return await asyncio.to_thread(
            self._get_relevant_documents, query, run_manager=run_manager.get_sync()
        )

    def _image(self, page_id: int) -> dict[str, str]:
        try:
            return {
                IMAGE_KEY: page_png_base64(self.index, page_id, self.image_side),
                IMAGE_MIME_KEY: "image/png",
            }
        except PagelensError as exc:  # the source moved or changed since indexing: keep the hit, say why
            log.warning("no image for page %s: %s", page_id, exc)
            return {"image_error": str(exc)}
