"""`pagelens mcp`: the tools through the real `mcp` client SDK, in process (FakeEmbedder) and end to end
(`pagelens mcp` spawned over stdio with a tiny real model; `--http` with a bearer token).

Every index is a real Milvus Lite folder of generated sample pages.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

import anyio  # noqa: E402
from mcp.client import Client  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402
from PIL import Image  # noqa: E402

import pagelens  # noqa: E402
from fakes import FakeEmbedder  # noqa: E402
from pagelens.errors import MissingDependencyError  # noqa: E402

TESTS = Path(__file__).resolve().parent
PAGELENS = Path(sys.executable).parent / "pagelens"
#: The samples served: a 6-page PDF, a chart image and a scanned JPEG (8 pages in all).
SERVED = ("annual_report.pdf", "sales_chart.png", "invoice_scan.jpg")
TOKEN = "mcp-test-token"
#: What the spawned server inherits beyond the SDK's safe default environment (a source-tree PYTHONPATH).
PASSED_ENV = {name: os.environ[name] for name in ("PYTHONPATH",) if name in os.environ}


def run(main: Callable[[], Awaitable[Any]]) -> Any:
    return anyio.run(main)


def payload(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    return dict(json.loads(result.content[0].text))


def error_text(result: Any) -> str:
    assert result.is_error, result.content
    return str(result.content[0].text)


@pytest.fixture(scope="module")
def docs(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mcp_docs")
    for name in SERVED:
        shutil.copy(samples / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def fake_folder(docs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of `docs` built with FakeEmbedder (closed again: each test opens it)."""
    folder = tmp_path_factory.mktemp("mcp_fake") / "index"
    with pagelens.open(folder, embedder=FakeEmbedder()) as index:
        report = index.add([docs], progress=False)
        assert report.pages_added == 8 and not report.failed
    return folder


@pytest.fixture
def index(fake_folder: Path) -> Iterator[pagelens.Index]:
    with pagelens.open(fake_folder, embedder=FakeEmbedder()) as opened:
        yield opened


def in_process(index: pagelens.Index) -> Client:
    from pagelens.integrations.mcp_server import build_server

    return Client(build_server(index))


# ---- the tools, in process ---------------------------------------------------------------------------------
def test_tools_are_listed_with_schemas(index: pagelens.Index) -> None:
    async def main() -> Any:
        async with in_process(index) as client:
            return (await client.list_tools()).tools

    tools = {tool.name: tool for tool in run(main)}
    assert set(tools) == {"search", "get_page", "list_documents"}
    assert tools["search"].input_schema["required"] == ["query"]
    assert set(tools["search"].input_schema["properties"]) == {"query", "k", "path", "pages", "where"}
    assert tools["get_page"].input_schema["required"] == ["page_id"]
    assert all(tool.annotations and tool.annotations.read_only_hint for tool in tools.values())
    assert all(tool.description and "\n" not in tool.description for tool in tools.values())


def test_search_ranks_as_the_library_and_the_cli(index: pagelens.Index) -> None:
    async def main() -> tuple[dict[str, Any], dict[str, Any]]:
        async with in_process(index) as client:
            plain = payload(await client.call_tool("search", {"query": "revenue by region table", "k": 4}))
            only = payload(
                await client.call_tool(
                    "search", {"query": "revenue by region table", "k": 10, "path": "*.pdf", "pages": "2-3"}
                )
            )
            return plain, only

    plain, only = run(main)
    expected = [hit.to_dict() for hit in index.search("revenue by region table", k=4)]
    assert plain["query"] == "revenue by region table" and plain["query_type"] == "text"
    assert plain["results"] == expected  # the shape and ranking of `pagelens search --json`
    assert len(expected) == 4
    filtered = index.search("revenue by region table", k=10, filter={"path": "*.pdf", "pages": (2, 3)})
    assert only["results"] == [hit.to_dict() for hit in filtered]
    assert sorted((Path(r["path"]).name, r["page"]) for r in only["results"]) == [
        ("annual_report.pdf", 2),
        ("annual_report.pdf", 3),
    ]


def test_get_page_returns_a_png_of_the_page(index: pagelens.Index) -> None:
    hit = index.search("sales chart", k=1)[0]

    async def main() -> Any:
        async with in_process(index) as client:
            return await client.call_tool("get_page", {"page_id": str(hit.page_id), "max_side": 200})

    result = run(main)
    assert not result.is_error
    info = json.loads(result.content[0].text)
    assert (info["path"], info["page"], info["page_id"]) == (hit.path, hit.page, str(hit.page_id))
    image_item = result.content[1]
    assert image_item.type == "image" and image_item.mime_type == "image/png"
    import base64

    image = Image.open(io.BytesIO(base64.b64decode(image_item.data)))
    assert image.format == "PNG" and max(image.size) == 200
    assert (info["width"], info["height"]) == image.size
    assert len(set(image.convert("L").getdata())) > 8  # a rendered page, not a blank


def test_errors_are_tool_errors_and_the_server_keeps_serving(index: pagelens.Index, docs: Path) -> None:
    async def main() -> dict[str, Any]:
        async with in_process(index) as client:
            answers: dict[str, Any] = {
                "unknown": error_text(await client.call_tool("get_page", {"page_id": "123"})),
                "not_an_id": error_text(await client.call_tool("get_page", {"page_id": "page-one"})),
                "pages": error_text(await client.call_tool("search", {"query": "x", "pages": "two"})),
                "empty": error_text(await client.call_tool("search", {"query": "   "})),
                "where": error_text(await client.call_tool("search", {"query": "x", "where": ["no-op"]})),
            }
            (docs / "sales_chart.png").rename(docs / "moved.png")  # the source is gone since indexing
            try:
                hit = index.search("chart", k=8, filter={"path": "*sales_chart.png"})[0]
                answers["gone"] = error_text(
                    await client.call_tool("get_page", {"page_id": str(hit.page_id)})
                )
            finally:
                (docs / "moved.png").rename(docs / "sales_chart.png")
            answers["after"] = payload(await client.call_tool("search", {"query": "chart", "k": 2}))
            return answers

    answers = run(main)
    assert "page_id 123 is not in the index" in answers["unknown"]
    assert "is not a page id" in answers["not_an_id"]
    assert "expected N or A-B" in answers["pages"]
    assert "the query is empty" in answers["empty"]
    assert "expected KEY=VALUE" in answers["where"]
    assert "sales_chart.png" in answers["gone"] and "no longer readable" in answers["gone"]
    assert len(answers["after"]["results"]) == 2
    assert not any("Traceback" in str(text) for text in answers.values())


def test_an_unexpected_failure_is_a_tool_error_too(
    index: pagelens.Index, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    async def main() -> tuple[str, dict[str, Any]]:
        async with in_process(index) as client:
            with monkeypatch.context() as patch:
                patch.setattr(index, "search", broken)
                failed = error_text(await client.call_tool("search", {"query": "chart"}))
            return failed, payload(await client.call_tool("search", {"query": "chart", "k": 1}))

    failed, after = run(main)
    assert "internal error in search: RuntimeError: disk on fire" in failed
    assert "tool search failed: RuntimeError: disk on fire" in caplog.text
    assert len(after["results"]) == 1


def test_list_documents_gives_paths_pages_and_status(index: pagelens.Index) -> None:
    async def main() -> tuple[dict[str, Any], dict[str, Any]]:
        async with in_process(index) as client:
            every = payload(await client.call_tool("list_documents", {}))
            some = payload(await client.call_tool("list_documents", {"path": "*.pdf", "limit": 1}))
            return every, some

    every, some = run(main)
    status = index.status()
    assert (every["indexed_documents"], every["indexed_pages"]) == (status.documents, status.pages) == (3, 8)
    assert every["failed_documents"] == 0 and every["truncated"] is False
    assert {Path(d["path"]).name: (d["pages"], d["status"]) for d in every["documents"]} == {
        "annual_report.pdf": (6, "indexed"),
        "sales_chart.png": (1, "indexed"),
        "invoice_scan.jpg": (1, "indexed"),
    }
    assert [Path(d["path"]).name for d in some["documents"]] == ["annual_report.pdf"]
    assert some["truncated"] is False and some["indexed_pages"] == 6


def test_the_model_loads_once_on_the_first_search(fake_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pagelens.embed

    loads: list[str] = []

    def load_embedder(model: str, **options: Any) -> FakeEmbedder:
        loads.append(model)
        time.sleep(0.2)  # a slow load: concurrent first searches must still share one
        return FakeEmbedder()

    monkeypatch.setattr(pagelens.embed, "load_embedder", load_embedder)
    with pagelens.open(fake_folder, model=FakeEmbedder.model_id) as index:

        async def main() -> list[Any]:
            async with in_process(index) as client:
                payload(await client.call_tool("list_documents", {}))
                page_id = index.catalog.pages[0].page_id
                assert not (await client.call_tool("get_page", {"page_id": str(page_id)})).is_error
                assert loads == []  # listing and page images need no model
                results: list[Any] = []

                async def one(query: str) -> None:
                    results.append(payload(await client.call_tool("search", {"query": query, "k": 2})))

                async with anyio.create_task_group() as group:
                    for query in ("invoice total", "revenue chart", "annual report"):
                        group.start_soon(one, query)
                results.append(payload(await client.call_tool("search", {"query": "again", "k": 2})))
                return results

        results = run(main)
    assert loads == [FakeEmbedder.model_id]
    assert all(len(result["results"]) == 2 for result in results)


# ---- the command line --------------------------------------------------------------------------------------
def test_http_on_a_public_host_needs_a_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pagelens.cli import main

    for name in ("PAGELENS_TOKEN", "PAGELENS_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "index"
    assert main(["mcp", "--http", "--host", "0.0.0.0", "--index", str(folder)]) == 2
    assert "refusing to listen on 0.0.0.0 without a token" in capsys.readouterr().err
    assert not folder.exists()  # refused before anything was opened


def test_a_missing_index_is_an_error_not_a_new_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pagelens.cli import main

    folder = tmp_path / "typo"
    assert main(["mcp", "--index", str(folder)]) == 1
    assert "no index at" in capsys.readouterr().err
    assert not folder.exists()


def test_without_the_extra_the_command_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import pagelens.integrations
    from pagelens.cli import main

    monkeypatch.setitem(sys.modules, "mcp.server.mcpserver", None)  # as if the SDK were missing
    monkeypatch.delitem(sys.modules, "pagelens.integrations.mcp_server", raising=False)
    monkeypatch.delattr(pagelens.integrations, "mcp_server", raising=False)
    with pytest.raises(MissingDependencyError, match=r"pip install 'pagelens\[mcp\]'"):
        import pagelens.integrations.mcp_server  # noqa: F401
    assert main(["mcp", "--index", str(tmp_path / "index")]) == 1
    assert "pip install 'pagelens[mcp]'" in capsys.readouterr().err


# ---- end to end: `pagelens mcp` over stdio, with a tiny real model --------------------------------------------
@pytest.fixture(scope="module")
def tiny_served(
    docs: Path, tiny_models: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> Any:
    """An index of `docs` built with the tiny ColQwen2, and what the library answers on it (then closed:
    Milvus Lite serves one process at a time)."""
    folder = tmp_path_factory.mktemp("mcp_tiny") / "index"
    with pagelens.open(folder, model=str(tiny_models("colqwen2"))) as index:
        assert index.add([docs], progress=False).pages_added == 8
        expected = [hit.to_dict() for hit in index.search("revenue by region", k=3)]
    return folder, expected


@pytest.mark.e2e
def test_stdio_server_spawned_by_the_mcp_client(tiny_served: Any, tmp_path: Path) -> None:
    folder, expected = tiny_served
    errlog = tmp_path / "server-stderr.txt"
    params = StdioServerParameters(
        command=str(PAGELENS),
        args=["mcp", "--index", str(folder)],
        env={"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **PASSED_ENV},
    )

    async def main() -> dict[str, Any]:
        with errlog.open("w") as stream:
            async with Client(stdio_client(params, errlog=stream)) as client:
                tools = [tool.name for tool in (await client.list_tools()).tools]
                found = payload(await client.call_tool("search", {"query": "revenue by region", "k": 3}))
                page_id = found["results"][0]["page_id"]
                page = await client.call_tool("get_page", {"page_id": page_id, "max_side": 300})
                missing = error_text(await client.call_tool("get_page", {"page_id": "1"}))
                listed = payload(await client.call_tool("list_documents", {}))
                return {"tools": tools, "found": found, "page": page, "missing": missing, "listed": listed}

    answers = run(main)
    assert sorted(answers["tools"]) == ["get_page", "list_documents", "search"]
    assert answers["found"]["results"] == expected  # the same ranking as in process (`search --json`)
    image_item = answers["page"].content[1]
    assert image_item.mime_type == "image/png"
    import base64

    image = Image.open(io.BytesIO(base64.b64decode(image_item.data)))
    assert image.format == "PNG" and max(image.size) == 300
    assert "page_id 1 is not in the index" in answers["missing"]
    assert answers["listed"]["indexed_pages"] == 8
    assert "Traceback" not in errlog.read_text()


# ---- end to end: streamable HTTP with a bearer token --------------------------------------------------------
LAUNCHER = textwrap.dedent(
    """
    import sys

    sys.path.insert(0, {tests!r})
    from fakes import FakeEmbedder

    import pagelens
    from pagelens.integrations.mcp_server import run_http

    if __name__ == "__main__":
        folder, port, token = sys.argv[1:4]
        with pagelens.open(folder, embedder=FakeEmbedder()) as index:
            sys.exit(run_http(index, host="127.0.0.1", port=int(port), token=token))
    """
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def http_server(fake_folder: Path, tmp_path: Path) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """`run_http` (what `pagelens mcp --http` ends in) in a process of its own, over the FakeEmbedder index;
    with what the library answers to "invoice" on that index."""
    with pagelens.open(fake_folder, embedder=FakeEmbedder()) as index:
        expected = [hit.to_dict() for hit in index.search("invoice", k=3)]
    launcher = tmp_path / "launch_mcp.py"
    launcher.write_text(LAUNCHER.format(tests=str(TESTS)))
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, str(launcher), str(fake_folder), str(port), TOKEN],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    try:
        assert process.poll() is None, process.communicate()[1]
        yield f"http://127.0.0.1:{port}/mcp", expected
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr


@pytest.mark.e2e
def test_streamable_http_needs_the_bearer_token(http_server: tuple[str, list[dict[str, Any]]]) -> None:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    url, expected = http_server
    request = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    accept = {"Accept": "application/json, text/event-stream"}
    without = httpx2.post(url, json=request, headers=accept, timeout=10)
    wrong = httpx2.post(url, json=request, headers={**accept, "Authorization": "Bearer no"}, timeout=10)
    assert (without.status_code, wrong.status_code) == (401, 401)
    assert "Authorization: Bearer" in without.json()["error"] and wrong.json()["error"] == "invalid token"

    async def main() -> tuple[list[str], dict[str, Any]]:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            tools = [tool.name for tool in (await client.list_tools()).tools]
            return tools, payload(await client.call_tool("search", {"query": "invoice", "k": 3}))

    tools, found = run(main)
    assert sorted(tools) == ["get_page", "list_documents", "search"]
    assert found["results"] == expected and len(expected) == 3


def test_the_extra_helper_tells_missing_from_unimportable(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib import metadata

    from pagelens.integrations.optional import optional_extra

    with pytest.raises(MissingDependencyError) as unimportable, optional_extra("mcp"):
        import mcp.server.no_such_module  # noqa: F401 - mcp is installed: the import itself fails
    message = str(unimportable.value)
    assert f"could not import mcp {metadata.version('mcp')}" in message
    assert "no_such_module" in message and message.endswith("pip install 'pagelens[mcp]'")

    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    with pytest.raises(MissingDependencyError) as missing, optional_extra("llamaindex"):
        import llama_index.no_such_module  # noqa: F401
    assert str(missing.value) == (
        "the LlamaIndex retriever (llama-index-core) is not installed: pip install 'pagelens[llamaindex]'"
    )


def test_mcp_over_http_needs_no_fastapi() -> None:
    """`pip install pagelens[mcp]` is enough for `pagelens mcp --http`: its token rule and middleware import
    neither FastAPI nor the server extra's modules."""
    code = (
        "import sys; import pagelens.integrations.mcp_http, pagelens.server.token_rule; "
        "from pagelens.commands import mcp; "
        "assert 'fastapi' not in sys.modules, sorted(m for m in sys.modules if 'fastapi' in m)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
