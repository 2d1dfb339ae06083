"""No single page or file stops a run: mutated PDFs and extreme images through the real CLI with a real tiny
model (its real Qwen2-VL processor refuses 200:1 pages), embedding failures isolated page by page, and a CLI
that never prints a traceback (Ctrl-C, a closed pipe, a killed parent)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import pagelens
from fakes import FakeEmbedder
from pagelens.sources.page_shape import MAX_ASPECT, MIN_SIDE, make_embeddable
from pagelens.testing.fuzz import write_fuzz_set

PAGELENS = str(Path(sys.executable).with_name("pagelens"))


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.update(extra)
    return env


def test_page_shape_pads_only_what_processors_refuse() -> None:
    normal = Image.new("RGB", (595, 842))
    assert make_embeddable(normal) == (normal, None)
    strip, note = make_embeddable(Image.new("RGB", (20, 3000)))
    assert strip.size == (3000 // MAX_ASPECT, 3000)
    assert note == "aspect ratio 1:150 is beyond what models accept; padded to 60 x 3000 px"
    dot, note = make_embeddable(Image.new("RGB", (1, 1)))
    assert dot.size == (MIN_SIDE, MIN_SIDE) and note and "padded" in note
    wide, _ = make_embeddable(Image.new("RGB", (4000, 7)))
    assert max(wide.size) / min(wide.size) <= MAX_ASPECT


@pytest.mark.e2e
def test_fuzzed_inputs_in_one_run_every_file_accounted_for(tmp_path: Path, tiny_models) -> None:  # type: ignore[no-untyped-def]
    files = write_fuzz_set(tmp_path / "inputs", mutations=21, seed=12)
    index_dir = tmp_path / "index"
    run = subprocess.run(
        [PAGELENS, "index", str(tmp_path / "inputs"), "--index", str(index_dir), "--model",
         str(tiny_models("colqwen2")), "--quiet"],
        capture_output=True, text=True, timeout=900, env=_env(),
    )  # fmt: skip
    assert run.returncode in (0, 3), run.stderr
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout, run.stderr
    with pagelens.open(index_dir) as index:
        records = {d.path: d for d in index.documents()}
        status = index.status()
        live = {(index.catalog.path_of(p), p.page) for p in index.catalog.pages}
    for file in files:
        record = records.get(str(file.path.resolve()))
        assert record is not None, f"{file.path.name} is not accounted for"
        assert record.status in ("indexed", "failed"), record
        if record.status == "failed":
            assert record.reason, record
            assert file.good_pages is None, f"{file.path.name} must index: {record.reason}"
            assert not any(path == record.path for path, _ in live), "a failed document has live pages"
        if file.good_pages is not None:
            assert record.status == "indexed" and record.pages == file.good_pages, record
            pages = {page for path, page in live if path == record.path}
            assert pages == set(range(1, file.good_pages + 1)), (file.path.name, pages)
    adjusted = {Path(a.path).name: a.reason for a in status.adjusted}
    assert "aspect ratio" in adjusted["wide-20000x60.png"] and "aspect ratio" in adjusted["tall-60x20000.png"]
    failed_lines = [line for line in run.stderr.splitlines() if line.startswith("failed: ")]
    assert len(failed_lines) == len(status.failed)  # each failure printed once, with its file and reason


class RefusingEmbedder(FakeEmbedder):
    """Refuses (as a processor would) any image whose top-left pixel is red; counts batch calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    def embed_images(self, images: Sequence[Image.Image]) -> list[np.ndarray]:
        self.calls.append(len(images))
        for image in images:
            red, green, blue = image.convert("RGB").getpixel((5, 5))
            if red > 200 and green < 60 and blue < 60:
                raise ValueError("absolute aspect ratio must be smaller than 200, got 1098.0")
        return super().embed_images(images)


def _pdf(path: Path, colours: Sequence[str]) -> Path:
    pages = [Image.new("RGB", (200, 280), colour) for colour in colours]
    pages[0].save(path, save_all=True, append_images=pages[1:])
    return path


def test_a_page_the_model_refuses_fails_its_document_only(fake_index, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    good = _pdf(inputs / "good.pdf", ["white", "blue", "green"])
    bad = _pdf(inputs / "bad.pdf", ["white", "red", "yellow"])
    also_good = _pdf(inputs / "also-good.pdf", ["gray", "navy"])
    embedder = RefusingEmbedder()
    index = fake_index(embedder=embedder, batch_size=8)
    report = index.add([inputs])
    assert [f.path for f in report.failed] == [str(bad.resolve())]
    assert report.failed[0].reason.startswith("page 2: its shape is beyond what the model accepts")
    assert report.documents_added == 2 and report.pages_added == 5
    assert max(embedder.calls) > 1 and 1 in embedder.calls  # batched first, then page by page
    hits = index.search("anything at all", k=20)
    assert {(Path(h.path).name, h.page) for h in hits} == {
        ("good.pdf", 1), ("good.pdf", 2), ("good.pdf", 3), ("also-good.pdf", 1), ("also-good.pdf", 2)
    }  # fmt: skip
    status = index.status()
    assert [(f.path, f.reason) for f in status.failed] == [(f.path, f.reason) for f in report.failed]

    _pdf(bad, ["white", "pink", "yellow"])  # fixed: the next run retries it and it indexes completely
    report = index.add([inputs])
    assert report.ok and report.documents_added == 1 and report.documents_unchanged == 2
    assert index.status().failed == [] and len(index.search("x", k=20)) == 8
    assert str(good.resolve()) in {d.path for d in index.documents()}
    assert str(also_good.resolve()) in {d.path for d in index.documents()}


class BrokenStore(Exception):
    pass


def test_a_batch_the_store_refuses_fails_its_documents(fake_index, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    _pdf(inputs / "a.pdf", ["white", "blue"])
    _pdf(inputs / "b.pdf", ["green"])
    index = fake_index(batch_size=2)
    index.add([tmp_path / "nothing-here.png"])  # creates the collections
    write_pages = index.store.write_pages
    calls = {"n": 0}

    def flaky(stored):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise BrokenStore("disk quota exceeded")
        return write_pages(stored)

    index.store.write_pages = flaky
    report = index.add([inputs])
    assert [Path(f.path).name for f in report.failed] == ["a.pdf"]
    assert "storing its pages failed (disk quota exceeded)" in report.failed[0].reason
    assert {Path(h.path).name for h in index.search("x", k=10)} == {"b.pdf"}
    index.store.write_pages = write_pages
    assert index.add([inputs]).ok and len(index.search("x", k=10)) == 3


@pytest.mark.e2e
def test_ctrl_c_during_indexing_prints_one_line_and_no_traceback(tmp_path: Path, tiny_models) -> None:  # type: ignore[no-untyped-def]
    files = write_fuzz_set(tmp_path / "inputs", mutations=0, seed=3)
    for copy in range(12):  # enough work to be interrupted mid-way
        (tmp_path / "inputs" / f"copy-{copy}.png").write_bytes(_noise_png(600 + copy, 800).getvalue())
    assert files
    process = subprocess.Popen(
        [PAGELENS, "index", str(tmp_path / "inputs"), "--index", str(tmp_path / "index"), "--model",
         str(tiny_models("colqwen2"))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), start_new_session=True,
    )  # fmt: skip
    _wait_for_worker(process)
    os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole foreground process group
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "Traceback" not in out, err
    assert [line for line in err.splitlines() if line.startswith("pagelens:")] == [
        "pagelens: interrupted; completed documents are kept, re-run to finish"
    ]


@pytest.mark.e2e
def test_kill_9_of_the_parent_leaves_a_quiet_worker(tmp_path: Path) -> None:
    """The render worker of a killed `pagelens index` ends without a word (its stderr is the terminal's)."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for copy in range(30):
        (inputs / f"page-{copy}.png").write_bytes(_noise_png(900, 1200 + copy).getvalue())
    stderr_file = tmp_path / "stderr.txt"
    with stderr_file.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", _SLOW_INDEXER, str(inputs), str(tmp_path / "index")],
            stdout=subprocess.DEVNULL, stderr=stderr, env=_env(), start_new_session=True,
        )  # fmt: skip
        _wait_for_worker(process)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _children_of_group(process.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
    assert not _children_of_group(process.pid), "the render worker outlived its parent"
    assert "Traceback" not in stderr_file.read_text(), stderr_file.read_text()


@pytest.mark.e2e  # a CLI subprocess
def test_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    with pagelens.open(index_dir) as index:
        rng = np.random.default_rng(0)
        index.add_embeddings(
            [
                {"path": f"doc-{i}.pdf", "page": 1, "embedding": rng.standard_normal((8, 16))}
                for i in range(40)
            ]
        )
    # `pagelens status --json | head -c 10`, with a reader that goes away after 10 bytes
    process = subprocess.Popen(
        [PAGELENS, "status", "--json", "--index", str(index_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(PYTHONUNBUFFERED="1"),
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    process.stdout.read(1)
    process.stdout.close()
    err = process.stderr.read().decode()
    process.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert process.returncode in (0, 141)


def test_broken_pipe_in_a_command_exits_141_without_traceback(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from pagelens import cli

    def handler(args):  # type: ignore[no-untyped-def]
        raise BrokenPipeError(32, "Broken pipe")

    parser = cli.build_parser()
    args = parser.parse_args(["status"])
    monkeypatch.setattr(cli, "build_parser", lambda: _Fixed(parser, args, handler))
    monkeypatch.setattr(cli.sys.stdout, "fileno", lambda: os.open(os.devnull, os.O_WRONLY))
    assert cli.main(["status"]) == 141
    assert "Traceback" not in capsys.readouterr().err


class _Fixed:
    def __init__(self, parser, args, handler) -> None:  # type: ignore[no-untyped-def]
        self.parser, self.args = parser, args
        self.args.handler = handler

    def parse_args(self, argv):  # type: ignore[no-untyped-def]
        return self.args

    def error(self, message: str) -> None:  # pragma: no cover
        raise AssertionError(message)


# ---- helpers ------------------------------------------------------------------------------------------------
_SLOW_INDEXER = f"""
import sys, time
sys.path.insert(0, {str(Path(__file__).parent)!r})
import pagelens
from fakes import FakeEmbedder

class Slow(FakeEmbedder):
    def embed_images(self, images):
        time.sleep(0.5)
        return super().embed_images(images)

with pagelens.open(sys.argv[2], embedder=Slow(), batch_size=1) as index:
    index.add([sys.argv[1]])
"""


def _noise_png(width: int, height: int):  # type: ignore[no-untyped-def]
    import io

    rng = np.random.default_rng(width * height)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(buffer, format="PNG")
    return buffer


def _children_of_group(pgid: int) -> list[int]:
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z" and int(entry.name) != pgid:
            alive.append(int(entry.name))
    return alive


def _wait_for_worker(process: subprocess.Popen) -> None:  # type: ignore[type-arg]
    """Until the parent has started its render worker (and so is indexing)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if any(
            b"render_worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
            for pid in _children_of_group(process.pid)
            if Path(f"/proc/{pid}/cmdline").exists()
        ):
            time.sleep(1.5)
            return
        assert process.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.2)
    raise AssertionError("no render worker started")


def test_status_json_lists_adjusted(tmp_path: Path, fake_index) -> None:  # type: ignore[no-untyped-def]
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    Image.new("RGB", (6000, 20), "white").save(inputs / "strip.png")
    index = fake_index()
    report = index.add([inputs])
    assert report.ok and [Path(a.path).name for a in report.adjusted] == ["strip.png"]
    assert "padded to" in report.adjusted[0].reason
    assert json.loads(json.dumps(index.status().to_dict()))["adjusted"][0]["reason"].startswith("page 1:")


def test_copies_of_a_failed_document_fail_with_it(fake_index, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    bad = _pdf(inputs / "bad.pdf", ["white", "red"])
    (inputs / "bad-copy.pdf").write_bytes(bad.read_bytes())  # same bytes: planned as an alias of bad.pdf
    index = fake_index(embedder=RefusingEmbedder())
    report = index.add([inputs])
    assert sorted(Path(f.path).name for f in report.failed) == ["bad-copy.pdf", "bad.pdf"]
    assert {Path(d.path).name: d.status for d in index.documents()} == {
        "bad.pdf": "failed",
        "bad-copy.pdf": "failed",
    }
