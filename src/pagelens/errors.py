"""Every error pagelens raises on purpose. Library code raises these; only the CLI and the HTTP layer turn
them into messages, exit codes and status codes."""

from __future__ import annotations


class PagelensError(Exception):
    """Base class of every error pagelens raises on purpose."""


class UsageError(PagelensError):
    """The caller asked for something that cannot work (bad argument, bad combination)."""


class MissingDependencyError(PagelensError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(f"{package} is not installed: pip install 'pagelens[{extra}]'")
        self.package = package
        self.extra = extra


class ModelError(PagelensError):
    """A model could not be loaded or run."""


class ModelNotAvailableError(ModelError):
    """The model's weights are neither local nor downloadable."""


class UnsupportedModelError(ModelError):
    """The checkpoint is not a ColPali-family model pagelens knows how to run."""


class SourceError(PagelensError):
    """One input file could not be read. `path` names the file, `reason` says why in plain words."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class PasswordRequiredError(SourceError):
    """An encrypted PDF needs a password that was not given or was wrong."""


class IndexError_(PagelensError):
    """Base for problems with the index itself (named with a trailing underscore: IndexError is a builtin)."""


class IndexMismatchError(IndexError_):
    """The index was built with another model, dimension or schema version."""


class IndexBusyError(IndexError_):
    """Another process is writing to this index."""


class StoreError(IndexError_):
    """Milvus refused or failed an operation."""


class AuthenticationError(StoreError):
    """The Milvus server rejected the credentials."""


class NotFoundError(PagelensError):
    """A page, document or file asked for is not in the index."""
