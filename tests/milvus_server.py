"""A real Milvus server for tests: PyPI `milvus==2.3.5` (Milvus standalone embedded in a wheel), run from a
virtual environment of its own, in a private network namespace.

Why so careful: the embedded standalone listens on all interfaces (gRPC 19530, etcd 2379/2380, 9091 and a
dozen internal ports; its `ip:` settings only change the addresses it advertises). So a server is only ever
started where this process's network namespace has no interface but loopback: `scripts/milvus_server.sh
test` makes one (`unshare --net --pid ...`) and runs pytest inside it, and then nothing outside this
machine's namespace can reach the server, and the server can reach nothing either.

The server runs in a process group of its own (a new session) and is stopped by signalling that group:
stopping the Python launcher alone would leave the `milvus` binary running.

This file is also a command, run by any Python 3 (only the standard library at the top level):
    python tests/milvus_server.py install        # the venv (idempotent; a second run takes milliseconds)
    python tests/milvus_server.py run [DATA_DIR]  # start a server here and wait (inside a namespace only)
    python tests/milvus_server.py serve DATA_DIR PORT AUTH [CONFIG_JSON]   # internal: the launcher, which
                                                  # the server's venv runs
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MILVUS_VERSION = "2.3.5"
REQUIREMENTS = [f"milvus=={MILVUS_VERSION}", "marshmallow<4"]
TOKEN = "root:Milvus"  # Milvus' default root credentials, the only user a fresh server has
REPO = Path(__file__).resolve().parents[1]
MARKER = "pagelens-milvus.json"
READY = "ready.json"
START_TIMEOUT = 120.0
# Test settings: a read at Strong consistency waits for the next time tick, 200 ms apart by default; 50 ms
# makes pagelens' reads after writes 4x faster.
TEST_CONFIG: dict[str, Any] = {"proxy.timeTickInterval": 50}
# Milvus' own graceful stop can take a long while (common.gracefulStopTimeout has no visible effect in 2.3.5
# standalone); the data of a test server is thrown away, so it gets this long after SIGTERM, then SIGKILL.
STOP_GRACE = 3.0
# Milvus' components; each has an `ip:` setting, pinned to loopback so nothing advertises another address
COMPONENTS = (
    "rootCoord",
    "proxy",
    "queryCoord",
    "queryNode",
    "indexCoord",
    "indexNode",
    "dataCoord",
    "dataNode",
)


class ServerUnavailable(RuntimeError):
    """The server cannot run here (not installed, not isolated) or did not start."""


def venv_dir() -> Path:
    return Path(os.environ.get("PAGELENS_MILVUS_VENV") or REPO / ".milvus-venv")


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _binaries(venv: Path) -> Path:
    """Where install() unpacks the server's binaries once (the package ships them xz-compressed and would
    otherwise unpack ~250 MB into every data folder, 6 s each start)."""
    return venv / "milvus-home"


def installed(venv: Path | None = None) -> bool:
    venv = venv or venv_dir()
    try:
        marker = json.loads((venv / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return marker.get("requirements") == REQUIREMENTS and _venv_python(venv).exists()


def install(venv: Path | None = None, *, quiet: bool = True) -> Path:
    """Create the server's venv with `milvus==2.3.5` and unpack its binaries; a no-op when already done."""
    venv = venv or venv_dir()
    if installed(venv):
        return venv
    started = time.monotonic()
    base = getattr(sys, "_base_executable", None) or sys.executable
    subprocess.run([base, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(_venv_python(venv)), "-m", "pip", "install", "--disable-pip-version-check"]
    subprocess.run([*pip, *(["-q"] if quiet else []), *REQUIREMENTS], check=True)
    unpack = f"import milvus; milvus._initialize_data_files({str(_binaries(venv))!r})"
    subprocess.run([str(_venv_python(venv)), "-c", unpack], check=True)
    (venv / MARKER).write_text(json.dumps({"requirements": REQUIREMENTS}))
    print(
        f"Milvus {MILVUS_VERSION} installed in {venv} ({time.monotonic() - started:.0f} s)", file=sys.stderr
    )
    return venv


def network_isolated() -> bool:
    """True when this process's network namespace has no interface but loopback.

    socket.if_nameindex() asks the kernel about the current namespace (/sys/class/net would show the
    namespace sysfs was mounted in, usually the host's)."""
    return {name for _, name in socket.if_nameindex()} <= {"lo"}


def _loopback_up() -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", 0))
        except OSError:
            return False
    return True


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class MilvusServer:
    """One Milvus 2.3.5 standalone on 127.0.0.1:`port` with its data in `data_dir`, in its own process group."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int = 19530,
        auth: bool = True,
        config: dict[str, Any] | None = None,
        venv: Path | None = None,
    ):
        self.data_dir = Path(data_dir)
        self.port = port
        self.auth = auth
        self.config = {**TEST_CONFIG, **(config or {})}  # milvus.yaml settings by dotted key
        self.venv = venv or venv_dir()
        self.process: subprocess.Popen[bytes] | None = None
        self.start_seconds: float | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str | None:
        return TOKEN if self.auth else None

    def log_tail(self, lines: int = 30) -> str:
        parts = []
        for name in ("launcher.log", "logs/milvus-stderr.log", "logs/milvus-stdout.log"):
            with contextlib.suppress(OSError):
                text = (self.data_dir / name).read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {name}\n" + "\n".join(text))
        return "\n".join(parts)

    def start(self, timeout: float = START_TIMEOUT) -> MilvusServer:
        if not installed(self.venv):
            raise ServerUnavailable(
                f"Milvus {MILVUS_VERSION} is not installed in {self.venv}: run `bash scripts/milvus_server.sh install`"
            )
        if not network_isolated():
            raise ServerUnavailable(
                "not in a private network namespace: Milvus 2.3.5 listens on all interfaces, so pagelens only "
                "starts it where loopback is the only interface; run `bash scripts/milvus_server.sh test`"
            )
        if not _loopback_up():
            raise ServerUnavailable(
                "loopback is down in this network namespace: run `ip link set lo up` first"
            )
        if _port_open(self.port):
            raise ServerUnavailable(f"127.0.0.1:{self.port} is already in use in this namespace")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / READY).unlink(missing_ok=True)
        bin_link = self.data_dir / "bin"
        if not bin_link.exists():
            bin_link.symlink_to(_binaries(self.venv) / "bin", target_is_directory=True)
        started = time.monotonic()
        with open(self.data_dir / "launcher.log", "wb") as log:
            self.process = subprocess.Popen(
                [
                    str(_venv_python(self.venv)),
                    __file__,
                    "serve",
                    str(self.data_dir),
                    str(self.port),
                    str(self.auth),
                    json.dumps(self.config),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,  # setsid: the launcher and milvus share a process group of their own
            )
        atexit.register(self.stop)
        pgid_file = os.environ.get("PAGELENS_MILVUS_PGID_FILE")
        if pgid_file:  # for the wrapper script's trap
            with contextlib.suppress(OSError), open(pgid_file, "a") as handle:
                handle.write(f"{self.process.pid}\n")
        deadline = started + timeout
        while time.monotonic() < deadline:
            status = self.process.poll()
            if status is not None:
                self.stop()  # sets self.process to None: keep the status read above
                raise ServerUnavailable(
                    f"Milvus exited with status {status} while starting:\n{self.log_tail()}"
                )
            if (self.data_dir / READY).exists() and _port_open(self.port):
                self.start_seconds = time.monotonic() - started
                return self
            time.sleep(0.2)
        self.stop()
        raise ServerUnavailable(f"Milvus did not start in {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout: float = STOP_GRACE) -> None:
        """Stop the whole process group (SIGTERM, then SIGKILL); safe to call twice."""
        process, self.process = self.process, None
        if process is None:
            return
        pgid = process.pid  # start_new_session: the launcher leads its own group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _group_alive(pgid, process):
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)

    def __enter__(self) -> MilvusServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _group_alive(pgid: int, leader: subprocess.Popen[bytes]) -> bool:
    leader.poll()  # reap our own child, so a zombie leader does not count as alive
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # members other than the leader are reparented and reaped by init; a zombie still answers kill(0)
    return leader.returncode is None or _members(pgid)


def _members(pgid: int) -> bool:
    """Whether any live (non-zombie) process is in group `pgid`, judged from /proc (Linux)."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


# ---- the launcher: runs inside the server's venv -------------------------------------------------------------
def _serve(data_dir: str, port: str, auth: str, extra: str = "{}") -> None:
    from milvus import MilvusServer as Embedded
    from milvus import MilvusServerConfig

    config = MilvusServerConfig(data_dir=data_dir, proxy_port=int(port))
    config.set("authorization_enabled", auth == "True")
    for component in COMPONENTS:
        config.set(f"{component}.ip", "127.0.0.1")
    for key, value in json.loads(extra).items():  # dotted keys of milvus.yaml that the template has
        config.set(key, value)
    server = Embedded(config)

    state = {"ready": False, "stopping": False}

    def stop(signum: int, frame: Any) -> None:
        process = server.server_proc
        if not state["ready"]:  # still in server.start(), which would keep polling: leave now
            if process is not None:
                process.kill()
            os._exit(128 + signum)
        state["stopping"] = True
        if process is not None:
            process.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    started = time.monotonic()
    server.start()  # returns once /healthz answers OK
    state["ready"] = True
    ready = Path(data_dir) / READY
    ready.with_suffix(".tmp").write_text(
        json.dumps(
            {
                "port": server.listen_port,
                "metrics_port": server.webservice_port,
                "milvus_pid": server.server_proc.pid,
                "seconds": round(time.monotonic() - started, 2),
            }
        )
    )
    ready.with_suffix(".tmp").rename(ready)
    print(f"Milvus {MILVUS_VERSION} ready on 127.0.0.1:{server.listen_port}", flush=True)
    # The launcher ends when milvus does. (A plain wait() here would hold the process' wait lock, and
    # the signal handler could then not reap it.)
    process = server.server_proc
    kill_at = None
    while (status := process.poll()) is None:
        if state["stopping"] and kill_at is None:
            kill_at = time.monotonic() + STOP_GRACE
        if kill_at is not None and time.monotonic() > kill_at:
            process.kill()
        time.sleep(0.1)
    server.server_proc = None
    server.stop()  # closes its log files
    sys.exit(0 if state["stopping"] else status)


# ---- the pytest fixture ------------------------------------------------------------------------------------
def _milvus_server_fixture(tmp_path_factory: Any) -> Iterator[MilvusServer]:
    import pytest

    required = os.environ.get("PAGELENS_REQUIRE_MILVUS_SERVER") == "1"
    server = MilvusServer(tmp_path_factory.mktemp("milvus-server"))
    try:
        server.start()
    except ServerUnavailable as exc:
        if required:
            pytest.fail(f"PAGELENS_REQUIRE_MILVUS_SERVER=1 but: {exc}", pytrace=False)
        pytest.skip(str(exc).splitlines()[0])
    try:
        yield server
    finally:
        server.stop()


try:
    import pytest as _pytest
except ImportError:  # run as a command by the server's venv, which has no pytest
    pass
else:
    milvus_server = _pytest.fixture(scope="session", name="milvus_server")(_milvus_server_fixture)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    if command == "install":
        print(install(quiet="-v" not in argv))
        return 0
    if command == "serve" and len(argv) in (4, 5):
        _serve(*argv[1:])
        return 0
    if command == "run":
        import tempfile

        data = Path(argv[1]) if len(argv) > 1 else Path(tempfile.mkdtemp(prefix="milvus-server-"))
        server = MilvusServer(data)
        try:
            server.start()
        except ServerUnavailable as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"Milvus {MILVUS_VERSION} on {server.uri} (token {TOKEN}), data in {data}; Ctrl+C stops it")
        try:
            while server.process is not None and server.process.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
