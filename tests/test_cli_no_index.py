"""Read commands never create an index, and a failed first `index`/`import` leaves no folder behind
(issue 18, point 4). Real Milvus Lite folders; FakeEmbedder where a model is needed."""

from __future__ import annotations

from pathlib import Path

import pytest

import pagelens
from fakes import FakeEmbedder
from pagelens.cli import main
from pagelens.errors import NotFoundError

READ_COMMANDS = [
    ["search", "revenue"],
    ["search", "--image", "IMAGE"],
    ["status"],
    ["status", "--json"],
    ["similar", "a.pdf", "--page", "1"],
    ["export", "OUT"],
    ["remove", "a.pdf"],
    ["serve", "--port", "1"],
    ["eval", "QRELS"],
]


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pagelens.embed.load_embedder", lambda *args, **kwargs: FakeEmbedder())
    monkeypatch.delenv("PAGELENS_MODEL", raising=False)


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: " ".join(c))
def test_read_commands_on_a_missing_index_exit_1_and_create_nothing(
    command: list[str], tmp_path: Path, samples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-index"
    qrels = tmp_path / "judged.jsonl"
    qrels.write_text('{"query": "revenue", "relevant": [{"path": "a.pdf", "page": 1}]}\n')
    replacements = {
        "IMAGE": str(samples / "sales_chart.png"),
        "OUT": str(tmp_path / "out"),
        "QRELS": str(qrels),
    }
    argv = [replacements.get(a, a) for a in command]
    assert main([*argv, "--index", str(missing)]) == 1
    err = capsys.readouterr().err
    assert f"no index at {missing} (create one with `pagelens index`)" in err
    assert "Traceback" not in err
    assert not missing.exists() and not (tmp_path / "out").exists()


def test_a_folder_that_holds_no_index_is_not_one_and_stays_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "just-a-folder"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    assert main(["status", "--index", str(folder)]) == 1
    assert "no index at" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_the_library_opens_for_reading_only_with_create_false(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no index at"):
        pagelens.open(tmp_path / "missing", create=False)
    assert not (tmp_path / "missing").exists()
    with pagelens.open(tmp_path / "made", embedder=FakeEmbedder()) as index:  # opened, nothing written
        assert index.status().pages == 0
    with pytest.raises(NotFoundError, match="no index at"):
        pagelens.open(tmp_path / "made", create=False)  # still no collections: not an index
    with pagelens.open(tmp_path / "real", embedder=FakeEmbedder()) as index:
        index.add_embeddings([{"path": "a", "page": 1, "embedding": [[1.0] * 128]}])
    with pagelens.open(tmp_path / "real", create=False) as index:
        assert index.status().pages == 1


def test_a_failed_first_index_leaves_no_folder(
    tmp_path: Path, fake_model: None, capsys: pytest.CaptureFixture[str]
) -> None:
    new = tmp_path / "new-index"
    assert main(["index", str(tmp_path / "missing.pdf"), "--index", str(new), "--quiet"]) == 1
    assert "no such file" in capsys.readouterr().err
    assert not new.exists()


def test_a_first_index_with_only_bad_files_keeps_their_failures(
    tmp_path: Path, fake_model: None, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4 not really")
    new = tmp_path / "new-index"
    assert main(["index", str(bad), "--index", str(new), "--quiet"]) == 1
    capsys.readouterr()
    assert main(["status", "--index", str(new), "--json"]) == 0  # `status` lists the failure until fixed
    assert str(bad) in capsys.readouterr().out


def test_a_failed_first_import_leaves_no_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = tmp_path / "new-index"
    assert main(["import", str(tmp_path / "no-export"), "--index", str(new)]) == 2  # not an export
    assert "not a pagelens export" in capsys.readouterr().err
    assert not new.exists()


def test_a_failed_write_into_an_existing_index_keeps_it(
    tmp_path: Path, fake_model: None, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "index"
    existing.mkdir()  # the user made it: never removed
    assert main(["index", str(tmp_path / "missing.pdf"), "--index", str(existing), "--quiet"]) == 1
    assert existing.is_dir()
