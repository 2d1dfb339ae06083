"""An index knows its model by a fingerprint, not its path (issue 18 point 3): the same checkpoint is
accepted when moved, copied or named by a relative path from another folder; a different one (another
family, or the same architecture with other weights) is refused with IndexMismatchError."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import pagelens
from pagelens.embed.fingerprint import fingerprint, index_model_source, weights_digest
from pagelens.errors import IndexMismatchError
from tiny_models import tiny_models_fixture  # noqa: F401


def _copy(folder: Path, to: Path) -> Path:
    shutil.copytree(folder, to)
    return to


def _perturb_weights(folder: Path) -> None:
    """Change one byte of tensor data (not the header) in the checkpoint's first safetensors file."""
    file = sorted(folder.glob("*.safetensors"))[0]
    data = bytearray(file.read_bytes())
    start = 8 + int.from_bytes(data[:8], "little")
    data[start + 10] ^= 0xFF
    file.write_bytes(bytes(data))


def _pages(folder: Path) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(3)
    for number in range(3):
        Image.fromarray(rng.integers(0, 255, (64, 48, 3), dtype=np.uint8)).save(folder / f"p{number}.png")
    return folder


def _build(index_dir: Path, model: str, pages: Path) -> dict:
    index = pagelens.open(index_dir, model=model, device="cpu")
    try:
        assert not index.add([str(pages)], progress=False).failed
        return dict(index.info.model_fingerprint or {})
    finally:
        index.close()


def test_fingerprint_follows_content_not_path(tiny_models: Callable[[str], Path], tmp_path: Path) -> None:
    original = tiny_models("colqwen2")
    copy = _copy(original, tmp_path / "elsewhere" / "renamed")
    first, second = fingerprint(str(original), 128), fingerprint(str(copy), 128)
    assert first.family == "colqwen2" and first.config_digest and first.weights_digest
    assert first == second and first.same_as(second) is True
    other = fingerprint(str(tiny_models("colidefics3")), 128)
    assert first.same_as(other) is False
    _perturb_weights(copy)
    changed = fingerprint(str(copy), 128)
    assert changed.config_digest == first.config_digest and changed.weights_digest != first.weights_digest
    assert first.same_as(changed) is False
    assert weights_digest(tmp_path) is None  # no safetensors: no weights digest


def test_index_accepts_a_moved_checkpoint_and_refuses_another(
    tiny_models: Callable[[str], Path], tmp_path: Path
) -> None:
    model = _copy(tiny_models("colqwen2"), tmp_path / "models" / "a")
    pages = _pages(tmp_path / "pages")
    stored = _build(tmp_path / "index", str(model), pages)
    assert stored["family"] == "colqwen2" and stored["dim"] == 128 and stored["hub_name"] is None

    moved = tmp_path / "moved" / "b"
    moved.parent.mkdir()
    shutil.move(str(model), str(moved))
    index = pagelens.open(tmp_path / "index", model=str(moved), device="cpu")
    try:
        assert len(index.search("a page", k=3)) == 3  # loads the model from its new place
        assert index.info.model_location == str(moved.resolve())
    finally:
        index.close()
    with pagelens.open(tmp_path / "index") as index:  # where it was last found is kept in the index
        assert index.info.model_location == str(moved.resolve())

    with pytest.raises(IndexMismatchError, match="different checkpoint"):
        pagelens.open(tmp_path / "index", model=str(tiny_models("colidefics3")), device="cpu")
    retrained = _copy(moved, tmp_path / "retrained")
    _perturb_weights(retrained)
    with pytest.raises(IndexMismatchError):
        pagelens.open(tmp_path / "index", model=str(retrained), device="cpu")


def test_relative_model_path_from_another_folder(
    tiny_models: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    _copy(tiny_models("colqwen2"), project / "models" / "tiny")
    pages = _pages(project / "pages")
    monkeypatch.chdir(project)
    _build(project / "index", "models/tiny", pages)
    monkeypatch.chdir(tmp_path)  # "models/tiny" does not exist from here
    for model in ("models/tiny", None):
        index = pagelens.open(project / "index", model=model, device="cpu")
        try:
            assert len(index.search("a page", k=2)) == 2
            assert index.embedder.model_id == str((project / "models" / "tiny").resolve())
        finally:
            index.close()
    with pytest.raises(IndexMismatchError):
        pagelens.open(project / "index", model="models/other", device="cpu")


def test_indexes_without_a_fingerprint_compare_by_path(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    assert index_model_source(str(folder), None, None, str(folder)) == str(folder)
    assert index_model_source(str(folder), None, None, None) == str(folder)
    assert index_model_source(str(folder), None, None, "org/other") is None
