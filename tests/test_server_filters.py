"""The HTTP API offers what `pagelens search` offers (issue 18, point 9): path, pages and where filters, exact,
candidates and search_many; bad filter values are 400s naming the parameter, never 500s; documents carry their
metadata; docs/http-api.md documents every route and parameter. In-process (TestClient) over a real Milvus Lite
index of two generated PDFs with metadata sidecars, FakeEmbedder."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

import pagelens  # noqa: E402
from conftest import PAPER, REPO, REPORT  # noqa: E402
from fakes import FakeEmbedder  # noqa: E402
from pagelens.server.app import create_app  # noqa: E402
from pagelens.server.schemas import MAX_QUERIES  # noqa: E402

TOKEN = "filters-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PAGES = {REPORT: 6, PAPER: 8}
METADATA = {REPORT: {"year": 2024, "kind": "report"}, PAPER: {"year": 2022, "kind": "paper"}}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> Iterator[pagelens.Index]:
    folder = tmp_path_factory.mktemp("server-filters")
    docs = folder / "docs"
    docs.mkdir()
    for name in PAGES:
        shutil.copy(samples / name, docs / name)
        (docs / f"{name}.json").write_text(json.dumps(METADATA[name]))  # a metadata sidecar
    index = pagelens.open(folder / "index", embedder=FakeEmbedder())
    report = index.add([docs / name for name in PAGES], progress=False)
    assert report.ok, report.failed
    yield index
    index.close()


@pytest.fixture(scope="module")
def client(index: pagelens.Index) -> Iterator[TestClient]:
    with TestClient(create_app(index, token=TOKEN), headers=AUTH) as client:
        yield client


def _search(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/search", params={"q": "revenue table", "k": 20, **params})
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def _names(results: list[dict[str, Any]]) -> set[str]:
    return {Path(r["path"]).name for r in results}


def _error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    message: str = response.json()["error"]
    return message


def test_path_filters_by_glob_prefix_or_several(client: TestClient, index: pagelens.Index) -> None:
    assert _names(_search(client)) == {REPORT, PAPER}
    only = _search(client, path=REPORT)
    assert _names(only) == {REPORT} and len(only) == PAGES[REPORT]
    assert _names(_search(client, path="*paper*")) == {PAPER}
    prefix = str(Path(index.documents()[0].path).parent) + "/annual"  # a prefix of the full path
    assert _names(_search(client, path=prefix)) == {REPORT}
    both = _search(client, path=[REPORT, PAPER])
    assert _names(both) == {REPORT, PAPER} and len(both) == 14
    assert _search(client, path="nothing-like-this.pdf") == []
    # the same pages the library finds with the CLI's filter
    expected = index.search("revenue table", k=20, filter={"path": REPORT})
    assert [r["page_id"] for r in only] == [str(h.page_id) for h in expected]


def test_pages_filter_and_bad_ranges(client: TestClient) -> None:
    results = _search(client, pages="2-3")
    assert sorted((Path(r["path"]).name, r["page"]) for r in results) == sorted(
        [(REPORT, 2), (REPORT, 3), (PAPER, 2), (PAPER, 3)]
    )
    assert {r["page"] for r in _search(client, pages="7")} == {7}
    message = _error(client.get("/api/search", params={"q": "x", "pages": "4-2"}), 400)
    assert message.startswith("pages: ") and "4-2" in message
    for bad in ("abc", "0", "2-", "1,3"):
        message = _error(client.get("/api/search", params={"q": "x", "pages": bad}), 422)
        assert message.startswith("pages: "), message


def test_where_filters_and_explains_what_cannot_match(client: TestClient) -> None:
    assert _names(_search(client, where="year>=2023")) == {REPORT}
    assert _names(_search(client, where=["kind=paper", "year<2023"])) == {PAPER}
    assert _search(client, where=["kind=paper", "year>2023"]) == []  # well-formed, no page matches
    message = _error(client.get("/api/search", params={"q": "x", "where": "yeer>=2022"}), 400)
    assert message.startswith("where: ") and "no indexed page has the metadata key 'yeer'" in message
    assert "year" in message  # the keys it does have
    message = _error(client.get("/api/search", params={"q": "x", "where": "kind>=3"}), 400)
    assert message.startswith("where: ") and "'kind' holds text" in message
    message = _error(client.get("/api/search", params={"q": "x", "where": 'year="2024"'}), 400)
    assert "'year' holds numbers" in message
    for bad in ("no operator", "a b=1", "year=NaN"):
        message = _error(client.get("/api/search", params={"q": "x", "where": bad}), 400)
        assert message.startswith("where: "), message
    # bounded by the schema: 20 values of up to 1,000 characters each
    assert _error(client.get("/api/search", params={"q": "x", "where": ["year=1"] * 21}), 422).startswith(
        "where"
    )
    assert _error(client.get("/api/search", params={"q": "x", "path": "p" * 1001}), 422).startswith("path")


def test_exact_and_candidates_reach_the_retriever(client: TestClient, index: pagelens.Index) -> None:
    params = {"q": "late interaction", "k": 1, "mode": "visual"}
    exact = client.get("/api/search", params={**params, "exact": "true"}).json()["results"]
    assert index.retriever.trace.exact == 14  # every page scored exactly
    truth = index.search("late interaction", k=1, exact=True, mode="visual")
    assert [r["page_id"] for r in exact] == [str(h.page_id) for h in truth]
    few = client.get("/api/search", params={**params, "candidates": 1})
    assert few.status_code == 200 and len(few.json()["results"]) == 1
    # the retriever was asked for 1 candidate (an index this small, with no token codebook yet, is scored whole)
    assert index.retriever.trace.candidates == 1
    assert _error(client.get("/api/search", params={**params, "candidates": 0}), 422).startswith("candidates")


def test_similar_and_image_search_take_the_filters(client: TestClient, index: pagelens.Index) -> None:
    first = _search(client, path=REPORT, pages="1")[0]
    similar = client.get(f"/api/similar/{first['page_id']}", params={"k": 20, "path": PAPER, "pages": "1-4"})
    assert similar.status_code == 200, similar.text
    results = similar.json()["results"]
    assert _names(results) == {PAPER} and sorted(r["page"] for r in results) == [1, 2, 3, 4]
    message = _error(client.get(f"/api/similar/{first['page_id']}", params={"where": "nope=1"}), 400)
    assert message.startswith("where: ")
    png = client.get(first["page_url"]).content
    image = client.post(
        "/api/search/image",
        params={"k": 20, "where": "kind=paper"},
        files={"image": ("page.png", png, "image/png")},
    )
    assert image.status_code == 200, image.text
    assert _names(image.json()["results"]) == {PAPER}
    message = _error(
        client.post(
            "/api/search/image", params={"pages": "9-3"}, files={"image": ("page.png", png, "image/png")}
        ),
        400,
    )
    assert message.startswith("pages: ")


def test_search_many_answers_each_query_in_order(client: TestClient, index: pagelens.Index) -> None:
    queries = ["revenue table", "late interaction retrieval", "org chart"]
    response = client.post("/api/search_many", json={"queries": queries, "k": 3, "mode": "visual"})
    assert response.status_code == 200, response.text
    answers = response.json()
    assert [a["query"] for a in answers] == queries and all(a["query_type"] == "text" for a in answers)
    expected = index.search_many(queries, k=3, mode="visual")
    for answer, hits in zip(answers, expected, strict=True):
        assert [r["page_id"] for r in answer["results"]] == [str(h.page_id) for h in hits]
        assert [r["rank"] for r in answer["results"]] == [1, 2, 3]
    filtered = client.post(
        "/api/search_many",
        json={"queries": queries[:2], "k": 20, "path": [PAPER], "pages": "2-4", "where": ["year=2022"]},
    ).json()
    for answer in filtered:
        assert _names(answer["results"]) == {PAPER}
        assert sorted(r["page"] for r in answer["results"]) == [2, 3, 4]


def test_search_many_is_bounded_and_validated(client: TestClient) -> None:
    too_many = client.post("/api/search_many", json={"queries": ["q"] * (MAX_QUERIES + 1)})
    assert f"at most {MAX_QUERIES}" in _error(too_many, 413)
    assert client.post("/api/search_many", json={"queries": ["q"] * MAX_QUERIES, "k": 1}).status_code == 200
    assert _error(client.post("/api/search_many", json={"queries": []}), 422)
    assert _error(client.post("/api/search_many", json={"queries": ["ok", "   "]}), 422)
    assert _error(client.post("/api/search_many", json={"queries": ["q"], "pages": "5-1"}), 400).startswith(
        "pages: "
    )
    assert _error(client.post("/api/search_many", json={"queries": ["q"], "where": ["x=1"]}), 400).startswith(
        "where: "
    )
    assert _error(client.post("/api/search_many", json={"queries": ["q"], "bogus": 1}), 422)
    schema = client.get("/openapi.json").json()
    body = schema["components"]["schemas"]["SearchManyRequest"]["properties"]["queries"]
    assert body["maxItems"] == MAX_QUERIES


def test_documents_carry_their_metadata(client: TestClient) -> None:
    documents = client.get("/api/documents").json()["documents"]
    assert {d["name"]: d["metadata"] for d in documents} == METADATA
    one = client.get("/api/documents/pages", params={"path": documents[0]["path"]}).json()
    assert one["name"] == documents[0]["name"] and one["metadata"] == documents[0]["metadata"]
    assert len(one["pages"]) == PAGES[one["name"]]


def test_the_docs_name_every_route_and_parameter(client: TestClient) -> None:
    """docs/http-api.md lists every route of /openapi.json and every parameter and body field it takes."""
    text = (REPO / "docs" / "http-api.md").read_text()
    schema = client.get("/openapi.json").json()
    missing = []
    for path, operations in schema["paths"].items():
        pattern = re.escape(path).replace(r"\{page_id\}", r"\{page_id\}")
        for method, operation in operations.items():
            if not re.search(rf"`{method.upper()} {pattern}[?` ]", text):
                missing.append(f"{method.upper()} {path}")
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and f"`{parameter['name']}" not in text:
                    missing.append(f"{method.upper()} {path}: {parameter['name']}")
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            reference = body.get("schema", {}).get("$ref", "")
            if reference:
                fields = schema["components"]["schemas"][reference.rsplit("/", 1)[1]]["properties"]
                missing.extend(f"{method.upper()} {path}: {f}" for f in fields if f"`{f}" not in text)
    assert not missing, missing
