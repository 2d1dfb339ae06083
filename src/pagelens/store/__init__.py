"""The store: the only code that talks to Milvus."""

from pagelens.store.location import DEFAULT_INDEX, IndexLocation
from pagelens.store.records import DocumentRecord, IndexInfo, PageRecord, StoredPage

__all__ = ["DEFAULT_INDEX", "DocumentRecord", "IndexInfo", "IndexLocation", "PageRecord", "StoredPage"]
