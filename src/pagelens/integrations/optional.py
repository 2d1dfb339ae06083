"""Optional extras, imported on first use: one helper that turns a failed import into a MissingDependencyError
naming the extra to install (`pip install 'pagelens[langchain]'`).

    with optional_extra("langchain"):
        from langchain_core.retrievers import BaseRetriever

A package that is installed but cannot be imported (too old or too new for pagelens, or broken) gets the
same hint, with the installed version, the import error and the version pagelens asks for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata

from pagelens.errors import MissingDependencyError

log = logging.getLogger(__name__)

#: extra -> (what it gives, the distributions whose import can fail)
EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "mcp": ("the MCP server (mcp)", ("mcp",)),
    "langchain": ("the LangChain retriever (langchain-core)", ("langchain-core",)),
    "llamaindex": ("the LlamaIndex retriever (llama-index-core)", ("llama-index-core",)),
    "server": ("the HTTP server (fastapi, uvicorn)", ("fastapi", "uvicorn")),
}


@contextmanager
def optional_extra(extra: str) -> Iterator[None]:
    """Run the imports of an extra's packages; an ImportError becomes MissingDependencyError(extra)."""
    what, distributions = EXTRAS[extra]
    try:
        yield
    except ImportError as exc:
        log.debug("import for pagelens[%s] failed: %s", extra, exc)
        error = MissingDependencyError(what, extra)
        installed = _installed(distributions)
        if installed is not None:
            name, version = installed
            wanted = _requirements(extra).get(name, name)
            error.args = (
                f"{what.split(' (')[0]} could not import {name} {version} ({exc}); pagelens needs {wanted}: "
                f"pip install 'pagelens[{extra}]'",
            )
        raise error from exc


def _installed(distributions: tuple[str, ...]) -> tuple[str, str] | None:
    """(name, version) of the first of `distributions` that is installed."""
    for name in distributions:
        try:
            return name, metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def _requirements(extra: str) -> dict[str, str]:
    """The extra's requirements as pagelens' own metadata states them, by distribution name."""
    try:
        requires = metadata.requires("pagelens") or []
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return {}
    found: dict[str, str] = {}
    for line in requires:
        spec, _, marker = line.partition(";")
        if f'extra == "{extra}"' not in marker.replace("'", '"'):
            continue
        name = spec.strip()
        for stop in "<>=!~[ (":
            name = name.split(stop)[0]
        found[name.lower()] = spec.strip()
    return found
