"""The `tiny_models` fixture: tiny ColPali-family checkpoints (pagelens.testing.tiny_models), built at most
once per test session. Use as ``folder = tiny_models("colqwen2")``; "colqwen2-lora" gives a PEFT adapter on
top of the tiny "colqwen2"."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pagelens.testing.tiny_models import (  # noqa: F401 - re-exported for tests
    EMBEDDING_DIM,
    EXPECTED_MODEL_CLASS,
    TINY_DIMS,
    TINY_FAMILIES,
    build_tiny_adapter,
    build_tiny_model,
    write_config,
)

# Built folders are cached per process, so that every test module importing the fixture shares them.
_built: dict[str, Path] = {}


@pytest.fixture(scope="session", name="tiny_models")
def tiny_models_fixture(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The `tiny_models` fixture: a callable family -> folder; each family is built at most once per session.

    Register it in a test module with ``from tiny_models import tiny_models_fixture  # noqa: F401``.

    Besides `TINY_FAMILIES`, "colqwen2-lora" gives a PEFT adapter on top of the tiny "colqwen2".
    """

    def get(family: str) -> Path:
        if family not in _built:
            root = tmp_path_factory.getbasetemp() / "tiny_models"
            if family == "colqwen2-lora":
                _built[family] = build_tiny_adapter(get("colqwen2"), root / family)
            else:
                _built[family] = build_tiny_model(family, root / family)
        return _built[family]

    return get
