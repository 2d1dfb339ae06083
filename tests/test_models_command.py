"""`pagelens models [--json]` (issue 14 point 3): the families come from the registry, every listed score
names its published source, the README table is generated from the same data, and local availability is
found in the Hugging Face cache or a models folder without the network."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from pagelens import cli
from pagelens.embed import catalog, registry
from tiny_models import tiny_models_fixture  # noqa: F401

README = Path(__file__).resolve().parents[1] / "README.md"


def _models_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert cli.main(["models", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_readme_table_is_generated_from_the_catalog() -> None:
    section = catalog.readme_section(README.read_text(encoding="utf-8"))
    assert section is not None, "README lacks the models-table markers"
    assert section == catalog.render_markdown(), "regenerate the README table from catalog.render_markdown()"


def test_json_lists_every_family_and_checkpoint_with_sources(capsys: pytest.CaptureFixture[str]) -> None:
    from pagelens.api import DEFAULT_MODEL

    data = _models_json(capsys)
    assert {f["key"] for f in data["families"]} == set(registry.backends())
    assert [c["name"] for c in data["checkpoints"]] == [e.name for e in catalog.CATALOG]
    assert data["default"] == DEFAULT_MODEL
    keys = set(registry.backends())
    for row in data["checkpoints"]:
        assert row["family"] in keys, row["name"]
        assert row["local"]["available"] in (True, False)
        for score in row["scores"]:
            assert score["source"].startswith("https://") and score["benchmark"].startswith("ViDoRe v")
            assert 0 < score["value"] <= 100
        if row["licence"]:
            assert row["licence_source"].startswith("https://")
        if not row["scores"] or not row["licence"]:
            assert row["unverified"], f"{row['name']}: say what was not verified"


def test_text_output_says_not_verified(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["models"]) == 0
    out = capsys.readouterr().out
    assert "not verified here" in out and "[default]" in out and "[CPU pick]" in out


def test_found_in_the_hugging_face_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import huggingface_hub.constants

    # the layout huggingface_hub writes: models--ORG--NAME/{refs/main, snapshots/REV/...}
    repo = tmp_path / "hub" / "models--ModernVBERT--colmodernvbert"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(json.dumps({"model_type": "modernvbert"}))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rows = {r["name"]: r for r in _models_json(capsys)["checkpoints"]}
    assert rows["ModernVBERT/colmodernvbert"]["local"] == {
        "available": True,
        "where": "hf-cache",
        "path": str(snapshot),
    }
    assert rows["vidore/colqwen2.5-v0.2"]["local"]["available"] is False


def test_found_in_a_models_folder(
    tiny_models: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tiny_models("colmodernvbert")  # a real checkpoint folder named like the Hub id's last part
    data = _models_json(capsys, "--models-dir", str(folder.parent))
    rows = {r["name"]: r for r in data["checkpoints"]}
    assert rows["ModernVBERT/colmodernvbert"]["local"]["where"] == "folder"
    assert rows["ModernVBERT/colmodernvbert"]["local"]["path"] == str(folder)
    found = {Path(r["path"]).name: r["family"] for r in data["local_folders"]}
    assert found["colmodernvbert"] == "colmodernvbert"
