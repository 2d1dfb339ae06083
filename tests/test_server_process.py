"""The server as a real process on a loopback port: startup, real HTTP, auth, uploads, shutdown, refusals.

The CLI's `serve` loads a real model, so the process here is a tiny launcher that opens the index with
FakeEmbedder and calls `pagelens.server.run.serve_index` (the function `serve` ends in). The CLI itself is
run for the refusal paths (no model is loaded before those), and end to end with a tiny real model in a
`slow` test.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from conftest import PAPER, REPORT  # noqa: E402
from pagelens.server.auth import is_loopback  # noqa: E402
from pagelens.server.run import refuse_reason, serve, serve_index  # noqa: E402

pytestmark = pytest.mark.e2e  # server processes on real ports

TESTS = Path(__file__).resolve().parent
SRC = TESTS.parent / "src"
TOKEN = "process-token"
STARTUP_SECONDS = 90

LAUNCHER = textwrap.dedent(
    """
    import logging
    import sys

    sys.path.insert(0, {tests!r})
    from fakes import FakeEmbedder

    import pagelens
    from pagelens.server.run import serve_index


    def main() -> int:
        folder, docs, port, token = sys.argv[1:5]
        logging.basicConfig(level=logging.INFO)
        index = pagelens.open(folder, embedder=FakeEmbedder())
        try:
            index.add([docs], progress=False)
            return serve_index(index, host="127.0.0.1", port=int(port), token=token or None, access_log=False)
        finally:
            index.close()


    if __name__ == "__main__":  # the ingest render worker is a spawned process: guard the entry point
        sys.exit(main())
    """
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAGELENS_")}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def wait_until_up(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"server exited with {process.returncode}: {process.stdout and process.stdout.read()!r}"
            )
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not start")


def stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    return int(process.returncode)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> Iterator[SimpleNamespace]:
    folder = tmp_path_factory.mktemp("server-process")
    docs = folder / "docs"
    docs.mkdir()
    (docs / REPORT).write_bytes((samples / REPORT).read_bytes())
    launcher = folder / "launch.py"
    launcher.write_text(LAUNCHER.format(tests=str(TESTS)))
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(launcher), str(folder / "index"), str(docs), str(port), TOKEN],
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, url)
        yield SimpleNamespace(url=url, process=process, folder=folder)
    finally:
        stop(process)


def test_search_over_real_http(server: SimpleNamespace) -> None:
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    ) as client:
        body = client.get("/api/search", params={"q": "quarterly revenue", "k": 3}).json()
        assert [r["rank"] for r in body["results"]] == [1, 2, 3]
        thumbnail = client.get(body["results"][0]["thumbnail_url"])
        assert thumbnail.status_code == 200 and thumbnail.content[:2] == b"\xff\xd8"  # a JPEG
        overlay = client.get(body["results"][0]["overlay_url"])
        assert overlay.status_code == 200 and overlay.content[:8] == b"\x89PNG\r\n\x1a\n"
        page = client.get("/")
        assert page.status_code == 200 and "pagelens" in page.text
        assert (
            client.get("/static/app.js")
            .headers["content-type"]
            .startswith(("text/javascript", "application/javascript"))
        )


def test_cli_read_commands_go_through_the_running_server(server: SimpleNamespace) -> None:
    """The server holds the Milvus Lite folder; `pagelens search` / `status` use its HTTP API instead of
    failing as "in use" (issue 16 point 4, issue 18 point 8)."""
    index = str(server.folder / "index")
    assert (server.folder / "index" / "serving.json").exists()
    cli = [sys.executable, "-m", "pagelens.cli"]
    started = time.perf_counter()
    found = subprocess.run(
        [*cli, "search", "revenue chart", "--index", index, "--token", TOKEN, "-k", "3", "--json"],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
    )
    seconds = time.perf_counter() - started
    assert found.returncode == 0, found.stderr
    direct = httpx.get(
        f"{server.url}/api/search",
        params={"q": "revenue chart", "k": 3},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    ).json()
    assert json.loads(found.stdout)["results"] == direct["results"] and len(direct["results"]) == 3
    print(f"CLI search through the running server: {seconds:.2f} s (process start included)")
    page_two = subprocess.run(  # filters and --exact go through the server too
        [
            *cli,
            "search",
            "revenue chart",
            "--index",
            index,
            "--token",
            TOKEN,
            "--pages",
            "2-2",
            "--exact",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
    )
    assert page_two.returncode == 0, page_two.stderr
    pages = {hit["page"] for hit in json.loads(page_two.stdout)["results"]}
    assert pages == {2}
    backwards = subprocess.run(
        [*cli, "search", "revenue chart", "--index", index, "--token", TOKEN, "--pages", "4-2"],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
    )
    assert backwards.returncode == 2 and "4-2" in backwards.stderr and "Traceback" not in backwards.stderr
    status = subprocess.run(
        [*cli, "status", "--index", index, "--token", TOKEN, "--json"],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
    )
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["pages"] == 6
    refused = subprocess.run(
        [*cli, "status", "--index", index, "--token", "wrong"],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
    )
    assert refused.returncode == 1 and "401" in refused.stderr and "Traceback" not in refused.stderr


def test_auth_over_real_http(server: SimpleNamespace) -> None:
    assert httpx.get(f"{server.url}/api/status", timeout=10).status_code == 401
    wrong = httpx.get(f"{server.url}/api/status", headers={"Authorization": "Bearer wrong"}, timeout=10)
    assert wrong.status_code == 401 and wrong.json() == {"error": "invalid token"}
    right = httpx.get(f"{server.url}/api/status", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert right.status_code == 200 and right.json()["pages"] == 6


def test_upload_and_concurrent_clients(server: SimpleNamespace, samples: Path) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    pdf = (samples / PAPER).read_bytes()
    response = httpx.post(
        f"{server.url}/api/documents", headers=headers, files=[("files", (PAPER, pdf))], timeout=120
    )
    assert response.status_code == 200, response.text
    assert response.json()["report"]["pages_added"] == 8
    assert Path(response.json()["indexed"][0]["path"]).parent == server.folder / "index" / "uploads"

    statuses: list[int] = []

    def client() -> None:
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as http:
            for i in range(5):
                statuses.append(
                    http.get("/api/search", params={"q": f"retrieval results {i}", "k": 5}).status_code
                )

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert statuses == [200] * 40


def test_interrupt_stops_cleanly(server: SimpleNamespace) -> None:
    assert server.process.poll() is None
    assert stop(server.process) == 0
    assert not (server.folder / "index" / "serving.json").exists()  # read commands open the folder again


# ---- refusals ----------------------------------------------------------------------------------------------
def test_loopback_hosts() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.com", ""):
        assert not is_loopback(host), host
    assert refuse_reason("0.0.0.0", None) is not None
    assert refuse_reason("0.0.0.0", "t") is None and refuse_reason("127.0.0.1", None) is None


def test_cli_refuses_a_public_host_without_a_token(tmp_path: Path) -> None:
    index = tmp_path / "never-created"
    result = subprocess.run(
        [sys.executable, "-m", "pagelens.cli", "serve", "--host", "0.0.0.0", "--index", str(index)],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "refusing to listen on 0.0.0.0 without a token" in result.stderr
    assert not index.exists()  # refused before anything was opened or loaded


def test_serve_refuses_without_opening_the_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAGELENS_TOKEN", raising=False)
    monkeypatch.delenv("PAGELENS_API_TOKEN", raising=False)
    args = SimpleNamespace(index=str(tmp_path / "x"), host="192.168.0.7", port=1, token=None, model=None)
    assert serve(args) == 2  # type: ignore[arg-type]
    assert not (tmp_path / "x").exists()
    bad_limit = SimpleNamespace(
        index=str(tmp_path / "x"), host="127.0.0.1", port=1, token=None, max_upload_mb=-1
    )
    assert serve(bad_limit) == 2  # type: ignore[arg-type]


def test_a_busy_port_is_exit_code_1(tmp_path: Path) -> None:
    stub = SimpleNamespace(
        location=SimpleNamespace(local_dir=tmp_path, is_server=False, describe=lambda: str(tmp_path))
    )
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert serve_index(stub, host="127.0.0.1", port=port, access_log=False) == 1  # type: ignore[arg-type]


# ---- the CLI end to end with a tiny real model (slow: builds a model and loads torch twice) -----------------
@pytest.mark.slow
def test_cli_serve_with_a_tiny_real_model(tmp_path: Path, samples: Path) -> None:
    tiny_models = pytest.importorskip("tiny_models")
    embed = pytest.importorskip("pagelens.embed")
    if not hasattr(embed, "load_embedder"):
        pytest.skip("pagelens.embed.load_embedder is not available yet")
    model = tiny_models.build_tiny_model("colqwen2", tmp_path / "model")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / REPORT).write_bytes((samples / REPORT).read_bytes())
    env = {**child_env(), "HF_HUB_OFFLINE": "1"}
    cli = [sys.executable, "-m", "pagelens.cli"]
    index = ["--index", str(tmp_path / "index"), "--model", str(model)]
    subprocess.run([*cli, "index", str(docs), *index, "--quiet"], env=env, check=True, timeout=300)
    port = free_port()
    process = subprocess.Popen(
        [*cli, "serve", *index, "--port", str(port), "--token", TOKEN],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until_up(process, f"http://127.0.0.1:{port}")
        headers = {"Authorization": f"Bearer {TOKEN}"}
        body = httpx.get(
            f"http://127.0.0.1:{port}/api/search",
            params={"q": "revenue", "k": 2},
            headers=headers,
            timeout=60,
        ).json()
        assert len(body["results"]) == 2
        overlay = httpx.get(
            f"http://127.0.0.1:{port}{body['results'][0]['overlay_url']}", headers=headers, timeout=60
        )
        assert overlay.status_code == 200
    finally:
        assert stop(process) == 0
