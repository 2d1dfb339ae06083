"""The baseline to beat: the Milvus ColPali tutorial's retriever, re-implemented faithfully.

Source: "Use ColPali for Multi-Modal Retrieval with Milvus" (milvus.io/docs/use_ColPali_with_milvus.md; the
notebook bootcamp/tutorials/quickstart/use_ColPali_with_milvus.ipynb), class `MilvusColbertRetriever`:

- one row per patch vector: fields pk (INT64, auto id), vector (FLOAT_VECTOR 128), seq_id (INT16), doc_id
  (INT64), doc (VARCHAR 65535; the file path on a page's first row, "" on the others);
- an HNSW index, metric IP, M=16, efConstruction=500 (created before the inserts, as in the tutorial);
- one `insert` call per page;
- search: one ANN search per query vector with limit 50 and empty search params (so the engine's default
  ef: 64 in Milvus Lite 3.2.2), output_fields vector/seq_id/doc_id; the doc ids of all hits are the
  candidates; each candidate is then fetched with its own `query(filter=f"doc_id in [{id}]", limit=1000)`
  (so a 1,030-vector ColPali page loses its last 30 vectors: the tutorial's 1,000-vector cut) and scored
  with numpy MaxSim, in a ThreadPoolExecutor of 300 workers; results sorted by score, top k returned.

Deviations, all forced by the engine, none changing the algorithm: the tutorial's `enable_dynamic_fields`
keyword (a typo pymilvus ignores) is kept as written; after `create_index` (which releases the collection)
we call `load_collection`, which the tutorial leaves to the engine; `drop_index` runs only when an index named
"vector" exists (on a fresh collection the engine refuses it and pymilvus logs an error). Lives in its own Milvus Lite folder.
"""

from __future__ import annotations

import concurrent.futures
from pathlib import Path
from typing import Any

import numpy as np

COLLECTION = "colpali"
SEARCH_LIMIT = 50
FETCH_LIMIT = 1000
WORKERS = 300


class TutorialRetriever:
    """`MilvusColbertRetriever` from the tutorial, on a MilvusClient of its own."""

    def __init__(self, milvus_client: Any, collection_name: str = COLLECTION, dim: int = 128) -> None:
        self.collection_name = collection_name
        self.client = milvus_client
        self.lite_path: str | None = None
        if self.client.has_collection(collection_name=self.collection_name):
            self.client.load_collection(collection_name)
        self.dim = dim

    @classmethod
    def open(cls, folder: str | Path, dim: int = 128) -> TutorialRetriever:
        from pymilvus import MilvusClient

        path = Path(folder).resolve()
        path.mkdir(parents=True, exist_ok=True)
        retriever = cls(MilvusClient(uri=str(path / "milvus.db")), dim=dim)
        retriever.lite_path = str(path / "milvus.db")
        return retriever

    def create_collection(self) -> None:
        from pymilvus import DataType

        if self.client.has_collection(collection_name=self.collection_name):
            self.client.drop_collection(collection_name=self.collection_name)
        schema = self.client.create_schema(auto_id=True, enable_dynamic_fields=True)
        schema.add_field(field_name="pk", datatype=DataType.INT64, is_primary=True)
        schema.add_field(field_name="vector", datatype=DataType.FLOAT_VECTOR, dim=self.dim)
        schema.add_field(field_name="seq_id", datatype=DataType.INT16)
        schema.add_field(field_name="doc_id", datatype=DataType.INT64)
        schema.add_field(field_name="doc", datatype=DataType.VARCHAR, max_length=65535)
        self.client.create_collection(collection_name=self.collection_name, schema=schema)

    def create_index(self) -> None:
        self.client.release_collection(collection_name=self.collection_name)
        if "vector" in self.client.list_indexes(collection_name=self.collection_name):
            self.client.drop_index(collection_name=self.collection_name, index_name="vector")
        index_params = self.client.prepare_index_params()
        index_params.add_index(
            field_name="vector",
            index_name="vector_index",
            index_type="HNSW",
            metric_type="IP",
            params={"M": 16, "efConstruction": 500},
        )
        self.client.create_index(collection_name=self.collection_name, index_params=index_params, sync=True)
        self.client.load_collection(collection_name=self.collection_name)  # see module docstring

    def search(self, data: np.ndarray, topk: int) -> list[tuple[float, int]]:
        search_params: dict[str, Any] = {"metric_type": "IP", "params": {}}
        results = self.client.search(
            self.collection_name,
            data,
            limit=int(SEARCH_LIMIT),
            output_fields=["vector", "seq_id", "doc_id"],
            search_params=search_params,
        )
        doc_ids = set()
        for r_id in range(len(results)):
            for r in range(len(results[r_id])):
                doc_ids.add(results[r_id][r]["entity"]["doc_id"])

        scores: list[tuple[float, int]] = []

        def rerank_single_doc(
            doc_id: int, data: np.ndarray, client: Any, collection_name: str
        ) -> tuple[float, int]:
            doc_colbert_vecs = client.query(
                collection_name=collection_name,
                filter=f"doc_id in [{doc_id}]",
                output_fields=["seq_id", "vector", "doc"],
                limit=FETCH_LIMIT,
            )
            doc_vecs = np.vstack([doc_colbert_vecs[i]["vector"] for i in range(len(doc_colbert_vecs))])
            score = np.dot(data, doc_vecs.T).max(1).sum()
            return (float(score), doc_id)

        with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as executor:
            futures = {
                executor.submit(rerank_single_doc, doc_id, data, self.client, self.collection_name): doc_id
                for doc_id in doc_ids
            }
            for future in concurrent.futures.as_completed(futures):
                score, doc_id = future.result()
                scores.append((score, doc_id))

        scores.sort(key=lambda x: x[0], reverse=True)
        if len(scores) >= topk:
            return scores[:topk]
        return scores

    def insert(self, data: dict[str, Any]) -> None:
        colbert_vecs = [vec for vec in data["colbert_vecs"]]  # noqa: C416 - as the tutorial writes it
        seq_length = len(colbert_vecs)
        doc_ids = [data["doc_id"] for _ in range(seq_length)]
        seq_ids = list(range(seq_length))
        docs = [""] * seq_length
        docs[0] = data["filepath"]
        self.client.insert(
            self.collection_name,
            [
                {"vector": colbert_vecs[i], "seq_id": seq_ids[i], "doc_id": doc_ids[i], "doc": docs[i]}
                for i in range(seq_length)
            ],
        )

    # ---- benchmark plumbing, not part of the tutorial ---------------------------------------------------
    def flush(self) -> None:
        """Seal the inserted rows (Milvus Lite writes Parquet and builds the HNSW index here)."""
        self.client.flush(self.collection_name)

    def close(self) -> None:
        """Close the client and stop this folder's in-process Milvus Lite server (frees its memory and lock)."""
        self.client.close()
        if self.lite_path is not None:
            try:
                from milvus_lite.server_manager import server_manager_instance
            except ImportError:  # pragma: no cover
                return
            release = getattr(server_manager_instance, "release_server", None)
            if release is not None:
                release(self.lite_path)
