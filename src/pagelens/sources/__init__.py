"""Sources turn inputs (files, folders) into documents, and documents into page images, lazily."""

from pagelens.sources.discover import discover
from pagelens.sources.document import Document, PageImage
from pagelens.sources.pages import count_pages, iter_pages

__all__ = ["Document", "PageImage", "count_pages", "discover", "iter_pages"]
