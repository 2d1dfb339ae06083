"""What is live in an index: committed documents and their pages, read from Milvus."""

from __future__ import annotations

from dataclasses import dataclass, field

from pagelens.store.records import DocumentRecord, PageRecord


@dataclass
class Catalog:
    """Live documents (status 'indexed') and the pages of their content, in a stable order."""

    documents: list[DocumentRecord] = field(default_factory=list)
    pages: list[PageRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.paths_by_hash: dict[str, list[str]] = {}
        for document in self.documents:
            self.paths_by_hash.setdefault(document.content_hash, []).append(document.path)
        self.pages = sorted(
            (p for p in self.pages if p.content_hash in self.paths_by_hash), key=lambda p: p.page_id
        )
        self.by_id: dict[int, PageRecord] = {p.page_id: p for p in self.pages}

    def path_of(self, page: PageRecord) -> str:
        return self.paths_by_hash[page.content_hash][0]

    def documents_by_hash(self) -> dict[str, list[DocumentRecord]]:
        grouped: dict[str, list[DocumentRecord]] = {}
        for document in self.documents:
            grouped.setdefault(document.content_hash, []).append(document)
        return grouped
