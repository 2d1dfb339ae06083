"""The HTTP API in-process (TestClient) over a real Milvus Lite index of real PDFs, with FakeEmbedder."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402
from PIL import Image  # noqa: E402

import pagelens  # noqa: E402
from conftest import PAPER, REPORT  # noqa: E402
from fakes import FakeEmbedder  # noqa: E402
from pagelens.errors import (  # noqa: E402
    IndexBusyError,
    IndexMismatchError,
    ModelError,
    NotFoundError,
    PasswordRequiredError,
    SourceError,
    StoreError,
    UsageError,
)
from pagelens.server.app import create_app  # noqa: E402
from pagelens.server.errors import status_for  # noqa: E402
from pagelens.server.overlay import infer_grid, patch_grid  # noqa: E402

TOKEN = "test-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _open_with(folder: Path, samples: Path, *pdfs: str) -> pagelens.Index:
    docs = folder / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    for name in pdfs:
        shutil.copy(samples / name, docs / name)
    index = pagelens.open(folder / "index", embedder=FakeEmbedder())
    if pdfs:
        report = index.add([docs / name for name in pdfs], progress=False)
        assert report.ok, report.failed
    return index


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> Iterator[pagelens.Index]:
    folder = tmp_path_factory.mktemp("server-api")
    index = _open_with(folder, samples, REPORT, PAPER)
    yield index
    index.close()


@pytest.fixture(scope="module")
def client(index: pagelens.Index) -> Iterator[TestClient]:
    with TestClient(create_app(index, token=TOKEN), headers=AUTH) as client:
        yield client


@pytest.fixture(scope="module")
def writable(
    tmp_path_factory: pytest.TempPathFactory, samples: Path
) -> Iterator[tuple[TestClient, pagelens.Index]]:
    """An index (one PDF from disk) that upload and remove tests change and restore; uploads capped at 3 MB."""
    index = _open_with(tmp_path_factory.mktemp("server-writable"), samples, REPORT)
    app = create_app(index, token=TOKEN, max_upload_bytes=3_000_000)
    with TestClient(app, headers=AUTH) as client:
        yield client, index
    index.close()


@pytest.fixture()
def upload_client(writable: tuple[TestClient, pagelens.Index]) -> Iterator[tuple[TestClient, pagelens.Index]]:
    """The writable index; each test must leave it as it found it, which this checks."""
    client, index = writable

    def state() -> list[tuple[str, str, int]]:
        return [
            (d["path"], d["status"], d["pages"]) for d in client.get("/api/documents").json()["documents"]
        ]

    before = state()
    yield client, index
    assert state() == before, "the test left the writable index changed"


def _first_page_id(client: TestClient, query: str = "revenue growth chart") -> str:
    return str(client.get("/api/search", params={"q": query, "k": 1}).json()["results"][0]["page_id"])


# ---- import cost -------------------------------------------------------------------------------------------
@pytest.mark.e2e  # a fresh interpreter
def test_importing_the_app_loads_neither_torch_nor_pymilvus() -> None:
    code = (
        "import sys, pagelens.server.app, pagelens.server.run\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('torch', 'pymilvus', 'transformers')]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ---- search ------------------------------------------------------------------------------------------------
def test_search_has_the_shape_of_search_json(client: TestClient, index: pagelens.Index) -> None:
    response = client.get("/api/search", params={"q": "late interaction retrieval", "k": 4})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "late interaction retrieval" and body["query_type"] == "text"
    results = body["results"]
    assert [r["rank"] for r in results] == [1, 2, 3, 4]
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    expected = [h.to_dict() for h in index.search("late interaction retrieval", k=4)]
    for got, want in zip(results, expected, strict=True):
        assert {key: got[key] for key in want} == want  # the same fields as `pagelens search --json`
        assert isinstance(got["page_id"], str)
        assert got["thumbnail_url"] == f"/api/pages/{got['page_id']}/thumbnail"
        assert got["page_url"] == f"/api/pages/{got['page_id']}/image"
        assert got["overlay_url"].startswith(
            f"/api/pages/{got['page_id']}/overlay?q=late%20interaction%20retrieval"
        )


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"q": "x", "k": 0}, 422),
        ({"q": "x", "k": 101}, 422),
        ({}, 422),
        ({"q": "   "}, 400),
        ({"q": "x" * 2001}, 422),
    ],
)
def test_bad_search_parameters_are_json_errors(
    client: TestClient, params: dict[str, Any], status: int
) -> None:
    response = client.get("/api/search", params=params)
    assert response.status_code == status
    assert isinstance(response.json()["error"], str) and response.json()["error"]


def test_search_by_image_finds_that_page(client: TestClient) -> None:
    page_id = _first_page_id(client)
    png = client.get(f"/api/pages/{page_id}/image").content
    response = client.post(
        "/api/search/image", params={"k": 3}, files={"image": ("page.png", png, "image/png")}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "page.png" and body["query_type"] == "image"
    assert body["results"][0]["page_id"] == page_id
    assert body["results"][0]["overlay_url"] is None


def test_search_by_a_broken_image_names_the_file(client: TestClient) -> None:
    response = client.post("/api/search/image", files={"image": ("photo.jpg", b"not an image", "image/jpeg")})
    assert response.status_code == 422
    assert "photo.jpg" in response.json()["error"]
    assert client.post("/api/search/image", files={"other": ("a.png", b"x", "image/png")}).status_code == 400
    assert (
        client.post(
            "/api/search/image", content=b"{}", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )


def test_similar_leaves_the_page_out(client: TestClient, index: pagelens.Index) -> None:
    page_id = _first_page_id(client)
    body = client.get(f"/api/similar/{page_id}", params={"k": 5}).json()
    record = index.catalog.by_id[int(page_id)]
    assert body["query"] == f"{index.catalog.path_of(record)}#page={record.page}"
    assert body["query_type"] == "page"
    assert len(body["results"]) == 5 and page_id not in {r["page_id"] for r in body["results"]}


@pytest.mark.parametrize(("page_id", "status"), [("123", 404), ("abc", 422), ("-5", 422), (str(2**70), 422)])
def test_unknown_pages_are_404_and_bad_ids_422(client: TestClient, page_id: str, status: int) -> None:
    for url in (
        f"/api/pages/{page_id}/thumbnail",
        f"/api/similar/{page_id}",
        f"/api/pages/{page_id}/overlay?q=a",
    ):
        response = client.get(url)
        assert response.status_code == status, url
        assert response.json()["error"]


def test_an_empty_index_answers_without_errors(tmp_path: Path) -> None:
    index = pagelens.open(tmp_path / "empty", embedder=FakeEmbedder())
    try:
        with TestClient(create_app(index)) as client:
            assert client.get("/api/search", params={"q": "anything"}).json()["results"] == []
            assert client.get("/api/documents").json() == {"documents": []}
            status = client.get("/api/status").json()
            assert (status["documents"], status["pages"], status["vectors"]) == (0, 0, 0)
            for path in ("/api/similar/1", "/api/pages/1/image", "/api/pages/1/overlay?q=x"):
                assert client.get(path).status_code == 404, path
            assert client.get("/").status_code == 200
    finally:
        index.close()


# ---- pages -------------------------------------------------------------------------------------------------
def test_page_image_and_thumbnail_are_rendered_from_the_source(client: TestClient) -> None:
    page_id = _first_page_id(client)
    thumb = client.get(f"/api/pages/{page_id}/thumbnail")
    full = client.get(f"/api/pages/{page_id}/image")
    assert thumb.headers["content-type"] == "image/jpeg" and full.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(thumb.content)) as small, Image.open(io.BytesIO(full.content)) as big:
        assert max(small.size) == 360 and max(big.size) == 1400
        assert small.size[0] < small.size[1]  # portrait pages stay portrait
    assert "max-age" in full.headers["cache-control"]


def test_page_whose_file_changed_is_404_not_500(
    upload_client: tuple[TestClient, pagelens.Index], samples: Path
) -> None:
    client, _ = upload_client
    unique = (samples / REPORT).read_bytes() + b"\n% a copy with its own content hash\n"
    saved = Path(
        client.post("/api/documents", files=[("files", ("mine.pdf", unique))]).json()["indexed"][0]["path"]
    )
    page_id = client.get("/api/documents/pages", params={"path": str(saved)}).json()["pages"][0]["page_id"]
    try:
        saved.write_bytes(b"%PDF-1.4 replaced")
        response = client.get(f"/api/pages/{page_id}/image")
        assert response.status_code == 404 and "changed since it was indexed" in response.json()["error"]
        saved.unlink()
        response = client.get(f"/api/pages/{page_id}/thumbnail")
        assert response.status_code == 404 and "no longer readable" in response.json()["error"]
    finally:
        assert client.delete("/api/documents", params={"path": str(saved)}).status_code == 200


@pytest.mark.corpus  # the real ViDoRe sample
def test_pages_of_an_indexed_dataset_render(tmp_path: Path, corpus: Path) -> None:
    pytest.importorskip("datasets")
    dataset = corpus / "vidore-arxivqa-sample"
    index = pagelens.open(tmp_path / "index", embedder=FakeEmbedder())
    try:
        assert index.add([dataset], progress=False).pages_added == 10
        with TestClient(create_app(index)) as client:
            hit = client.get("/api/search", params={"q": "a plot", "k": 1}).json()["results"][0]
            assert hit["path"].startswith(f"{dataset}#")  # a row of the dataset, not a file
            thumbnail = client.get(hit["thumbnail_url"])
            assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"
            assert client.get(hit["overlay_url"]).status_code == 200
    finally:
        index.close()


def test_overlay_is_the_per_patch_best_similarity(client: TestClient, index: pagelens.Index) -> None:
    page_id = _first_page_id(client)
    body = client.get(f"/api/pages/{page_id}/overlay", params={"q": "revenue growth"}).json()
    assert (body["rows"], body["cols"], body["grid"]) == (6, 6, "inferred")  # FakeEmbedder: a 6 x 6 grid
    page = index.retriever.vectors_of(int(page_id)).astype(np.float32)
    query = FakeEmbedder().embed_queries(["revenue growth"])[0]
    expected = (page @ query.T).max(axis=1).reshape(6, 6)
    assert np.allclose(np.array(body["values"]), expected, atol=1e-4)
    assert body["max"] == pytest.approx(float(expected.max()), abs=1e-5)
    png = client.get(f"/api/pages/{page_id}/overlay", params={"q": "revenue growth", "format": "png"})
    assert png.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(png.content)) as heat:
        assert heat.mode == "RGBA" and heat.size[0] == heat.size[1]
    assert client.get(f"/api/pages/{page_id}/overlay", params={"q": " "}).status_code == 400
    assert client.get(f"/api/pages/{page_id}/overlay", params={"q": "a", "format": "gif"}).status_code == 422


def test_grid_inference() -> None:
    assert infer_grid(1030, 0.77) == (32, 32)  # ColPali: 32 x 32 patches + 6 text tokens, whatever the page
    assert infer_grid(36, 0.7) == (6, 6)
    assert infer_grid(24 * 31 + 8, 31 / 24) == (24, 31)  # ColQwen-like: the page's own shape
    assert infer_grid(28 * 21 + 20, 21 / 28) == (28, 21)
    assert infer_grid(1, 2.0) == (1, 1) and infer_grid(0, 1.0) == (0, 0)

    class WithGrid:
        def patch_grid(self, width: int, height: int, n_vectors: int) -> tuple[int, int, int]:
            return 4, 5, 2

    assert patch_grid(WithGrid(), 30, 100, 80) == (4, 5, 2, "model")
    assert patch_grid(object(), 30, 100, 80)[3] == "inferred"


# ---- documents ---------------------------------------------------------------------------------------------
def test_documents_and_their_pages(client: TestClient) -> None:
    documents = client.get("/api/documents").json()["documents"]
    assert [d["name"] for d in documents] == [REPORT, PAPER]
    assert [d["pages"] for d in documents] == [6, 8]
    pages = client.get("/api/documents/pages", params={"path": documents[0]["path"]}).json()["pages"]
    assert [p["page"] for p in pages] == [1, 2, 3, 4, 5, 6]
    assert pages[0]["page_id"] == documents[0]["first_page_id"]
    assert client.get("/api/documents/pages", params={"path": "/nope.pdf"}).status_code == 404


def test_upload_indexes_into_the_uploads_folder(
    upload_client: tuple[TestClient, pagelens.Index], samples: Path
) -> None:
    client, index = upload_client
    pdf = (samples / PAPER).read_bytes()
    response = client.post(
        "/api/documents", files=[("files", ("../../etc/My Paper.pdf", pdf, "application/pdf"))]
    )
    assert response.status_code == 200, response.text
    body = response.json()
    saved = Path(body["indexed"][0]["path"])
    assert body["indexed"][0]["file"] == "../../etc/My Paper.pdf"
    assert saved.parent == index.location.local_dir / "uploads" and saved.name == "My Paper.pdf"
    assert body["report"]["pages_added"] == 8 and body["failed"] == []
    status = client.get("/api/status").json()
    assert (status["documents"], status["pages"]) == (2, 6 + 8)
    # the same bytes again: nothing new, same file
    again = client.post("/api/documents", files=[("files", ("My Paper.pdf", pdf, "application/pdf"))]).json()
    assert again["indexed"][0]["path"] == str(saved) and again["report"]["pages_added"] == 0
    # removing it drops it from the index and deletes the uploaded copy
    removed = client.delete("/api/documents", params={"path": str(saved)})
    assert removed.status_code == 200 and removed.json()["removed"] == 1
    assert not saved.exists()
    assert client.get("/api/status").json()["documents"] == 1


def test_bad_uploads_are_named_with_a_reason(upload_client: tuple[TestClient, pagelens.Index]) -> None:
    client, index = upload_client
    broken = client.post(
        "/api/documents", files=[("files", ("broken.pdf", b"%PDF-1.4 nonsense", "application/pdf"))]
    )
    assert broken.status_code == 422
    assert broken.json()["failed"] == [
        {"file": "broken.pdf", "reason": "not a readable PDF (data format error)"}
    ]
    assert "broken.pdf" in broken.json()["error"]
    uploads = index.location.local_dir / "uploads"
    assert not (uploads / "broken.pdf").exists()
    assert client.get("/api/status").json()["failed"] == []  # a refused upload leaves no trace
    wrong_type = client.post(
        "/api/documents", files=[("files", ("tool.exe", b"MZ", "application/octet-stream"))]
    )
    assert wrong_type.status_code == 415 and "tool.exe" in wrong_type.json()["error"]
    empty = client.post("/api/documents", files=[("files", ("empty.pdf", b"", "application/pdf"))])
    assert empty.status_code == 422 and "empty" in empty.json()["error"]
    assert client.post("/api/documents", data={"note": "no files"}).status_code == 400


def test_mixed_upload_indexes_the_good_and_reports_the_bad(
    upload_client: tuple[TestClient, pagelens.Index], samples: Path
) -> None:
    client, _ = upload_client
    files = [
        ("files", ("report copy.pdf", (samples / REPORT).read_bytes(), "application/pdf")),
        ("files", ("notes.txt", b"hello", "text/plain")),
        ("files", ("garbage.pdf", b"%PDF garbage", "application/pdf")),
    ]
    body = client.post("/api/documents", files=files).json()
    assert [f["file"] for f in body["indexed"]] == ["report copy.pdf"]
    assert body["report"]["documents_moved"] == 1  # the same bytes as an indexed file: nothing re-embedded
    assert sorted(f["file"] for f in body["failed"]) == ["garbage.pdf", "notes.txt"]
    assert client.delete("/api/documents", params={"path": body["indexed"][0]["path"]}).status_code == 200


def test_uploads_over_the_limit_are_413(upload_client: tuple[TestClient, pagelens.Index]) -> None:
    client, index = upload_client
    big = b"%PDF-1.4\n" + b"0" * 3_200_000
    declared = client.post("/api/documents", files=[("files", ("big.pdf", big, "application/pdf"))])
    assert declared.status_code == 413 and "limit" in declared.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while the body streams
        yield b'--x\r\nContent-Disposition: form-data; name="files"; filename="big.pdf"\r\n\r\n'
        for _ in range(40):
            yield b"0" * 100_000

    streamed = client.post(
        "/api/documents", content=chunks(), headers={"content-type": "multipart/form-data; boundary=x"}
    )
    assert streamed.status_code == 413
    assert not any((index.location.local_dir / "uploads").glob("*.pdf"))


def test_an_upload_the_index_refuses_leaves_no_file(
    upload_client: tuple[TestClient, pagelens.Index], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, index = upload_client

    def busy(*args: object) -> None:
        raise IndexBusyError("another process is writing to this index")

    monkeypatch.setattr(client.app.state.service, "add", busy)  # type: ignore[attr-defined]
    response = client.post("/api/documents", files=[("files", ("later.pdf", b"%PDF-1.4 whatever"))])
    assert response.status_code == 409 and "another process" in response.json()["error"]
    assert not (index.location.local_dir / "uploads" / "later.pdf").exists()


def test_remove_needs_an_exact_indexed_path(upload_client: tuple[TestClient, pagelens.Index]) -> None:
    client, index = upload_client
    assert client.delete("/api/documents", params={"path": "/etc/passwd"}).status_code == 404
    source = Path(client.get("/api/documents").json()["documents"][0]["path"])
    assert client.delete("/api/documents", params={"path": str(source.parent)}).status_code == 404
    assert client.delete("/api/documents", params={"path": str(source)}).status_code == 200
    assert source.exists()  # a document indexed from disk is forgotten, never deleted
    assert client.get("/api/documents").json()["documents"] == []
    index.add([source], progress=False)  # put it back for the other tests


# ---- auth, errors, concurrency -----------------------------------------------------------------------------
def test_auth(index: pagelens.Index) -> None:
    with TestClient(create_app(index, token=TOKEN)) as anonymous:
        missing = anonymous.get("/api/search", params={"q": "x"})
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        assert missing.json()["error"].startswith("authentication required")
        wrong = anonymous.get("/api/status", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json() == {"error": "invalid token"}
        assert anonymous.get("/api/status", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
        assert anonymous.get("/api/status", params={"token": TOKEN}).status_code == 401  # never in a URL
        assert anonymous.get("/api/status", headers=AUTH).status_code == 200
        for path in ("/api/documents", "/api/pages/1/image", "/api/similar/1"):
            assert anonymous.get(path).status_code == 401, path
        assert (
            anonymous.post(
                "/api/documents", files=[("files", ("a.pdf", b"x", "application/pdf"))]
            ).status_code
            == 401
        )
        assert anonymous.delete("/api/documents", params={"path": "/x"}).status_code == 401
        # the page, its assets, the schema and liveness load without a token (they hold no data)
        for path in ("/", "/static/app.js", "/static/style.css", "/openapi.json", "/api/health"):
            assert anonymous.get(path).status_code == 200, path
    with TestClient(create_app(index)) as open_client:  # no token configured: loopback development mode
        assert open_client.get("/api/status").json()["server"]["auth"] is False


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (UsageError("bad"), 400),
        (NotFoundError("gone"), 404),
        (SourceError("a.pdf", "broken"), 422),
        (PasswordRequiredError("a.pdf", "needs a password"), 422),
        (IndexBusyError("busy"), 409),
        (IndexMismatchError("other model"), 409),
        (ModelError("no model"), 503),
        (StoreError("milvus down"), 503),
    ],
)
def test_library_errors_map_to_status_codes(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, error: Exception, status: int
) -> None:
    assert status_for(error) == status  # type: ignore[arg-type]

    def fail(*args: object) -> None:
        raise error

    monkeypatch.setattr(client.app.state.service, "search_text", fail)  # type: ignore[attr-defined]
    response = client.get("/api/search", params={"q": "x"})
    assert response.status_code == status
    assert response.json() == {"error": str(error)}


def test_a_bug_is_a_generic_500(index: pagelens.Index, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(index)

    def bug(*args: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(app.state.service, "status", bug)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/status")
    assert response.status_code == 500 and "secret" not in response.text
    assert response.json()["error"].startswith("internal server error")


def test_not_found_routes_are_json(client: TestClient) -> None:
    response = client.get("/api/nothing-here")
    assert response.status_code == 404 and response.json() == {"error": "Not Found"}
    assert client.put("/api/search").status_code == 405


def test_page_security_headers(client: TestClient) -> None:
    response = client.get("/")
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert '<script src="/static/app.js"' in response.text


def test_concurrent_requests_are_serialised_safely(client: TestClient) -> None:
    queries = [f"query number {i % 4}" for i in range(16)]
    expected = {q: client.get("/api/search", params={"q": q, "k": 3}).json() for q in set(queries)}
    page_id = _first_page_id(client)
    got: list[tuple[str, Any]] = []
    errors: list[BaseException] = []

    def worker(query: str) -> None:
        try:
            got.append((query, client.get("/api/search", params={"q": query, "k": 3}).json()))
            assert client.get(f"/api/pages/{page_id}/thumbnail").status_code == 200
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(q,)) for q in queries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and len(got) == len(queries)
    assert all(body == expected[query] for query, body in got)


def test_openapi_documents_every_endpoint(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert set(paths) >= {
        "/api/search",
        "/api/search/image",
        "/api/similar/{page_id}",
        "/api/pages/{page_id}/image",
        "/api/pages/{page_id}/thumbnail",
        "/api/pages/{page_id}/overlay",
        "/api/documents",
        "/api/documents/pages",
        "/api/status",
        "/api/health",
    }
    assert set(paths["/api/documents"]) == {"get", "post", "delete"}
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
