"""A checkpoint's identity by what it is, not by how its path was typed.

An index remembers its model as a fingerprint: the backend family, the vector size, a digest of the config
files (config.json, adapter_config.json) and a digest of the weights (the safetensors index, each
safetensors header, and the first and last 64 KiB of each file's tensor data, so two checkpoints of the
same architecture trained apart differ), plus the Hub name where the model was named by one. The same
checkpoint in another folder (moved, copied, or a relative path typed from another directory) has the same
fingerprint; a different checkpoint has another.

Reads only files on this machine (a folder, or the local Hugging Face cache for a Hub name); never the
network, never torch. A Hub model that is not in the cache has a fingerprint with its name only.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

CONFIG_FILES = ("config.json", "adapter_config.json")
#: adapter_config.json keys that say where the base model lives, not what it is.
LOCATION_KEYS = frozenset({"base_model_name_or_path", "_name_or_path"})
#: Bytes of tensor data hashed at each end of every safetensors file.
SAMPLE_BYTES = 64 * 1024


@dataclass
class ModelFingerprint:
    """What identifies a checkpoint (see the module docstring)."""

    family: str | None = None
    dim: int | None = None
    config_digest: str | None = None
    weights_digest: str | None = None
    hub_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "dim": self.dim,
            "config_digest": self.config_digest,
            "weights_digest": self.weights_digest,
            "hub_name": self.hub_name,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ModelFingerprint | None:
        if not isinstance(data, dict):
            return None
        return cls(
            **{k: data.get(k) for k in ("family", "dim", "config_digest", "weights_digest", "hub_name")}
        )

    def same_as(self, other: ModelFingerprint) -> bool | None:
        """True: the same checkpoint; False: a different one; None: not enough known to tell.

        Config digests must agree where both are known; weights digests too. Without any digest on one
        side (a Hub model not in the cache), the Hub names decide."""
        if self.dim is not None and other.dim is not None and self.dim != other.dim:
            return False
        if self.family and other.family and self.family != other.family:
            return False
        if self.config_digest and other.config_digest:
            if self.config_digest != other.config_digest:
                return False
            if self.weights_digest and other.weights_digest:
                return self.weights_digest == other.weights_digest
            return True
        if self.hub_name and other.hub_name:
            return self.hub_name == other.hub_name
        return None


def _canonical(config: dict[str, Any]) -> bytes:
    kept = {k: v for k, v in config.items() if k not in LOCATION_KEYS}
    return json.dumps(kept, sort_keys=True, separators=(",", ":")).encode()


def _read_json(file: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def config_digest(folder: Path) -> str | None:
    digest = hashlib.sha256()
    found = False
    for name in CONFIG_FILES:
        data = _read_json(folder / name)
        if data is not None:
            found = True
            digest.update(name.encode() + b"\0" + _canonical(data) + b"\0")
    return digest.hexdigest() if found else None


def weights_digest(folder: Path) -> str | None:
    """Digest of the safetensors index weight maps, headers and data samples; None without safetensors."""
    digest = hashlib.sha256()
    found = False
    for index_file in sorted(folder.glob("*.safetensors.index.json")):
        data = _read_json(index_file) or {}
        weight_map = data.get("weight_map")
        if isinstance(weight_map, dict):
            found = True
            digest.update(json.dumps(weight_map, sort_keys=True).encode())
    for weights in sorted(folder.glob("*.safetensors")):
        sample = _safetensors_sample(weights)
        if sample is not None:
            found = True
            digest.update(weights.name.encode() + b"\0" + sample)
    return digest.hexdigest() if found else None


def _safetensors_sample(file: Path) -> bytes | None:
    try:
        size = file.stat().st_size
        with file.open("rb") as handle:
            head = handle.read(8)
            if len(head) < 8:
                return None
            header_length = int.from_bytes(head, "little")
            if header_length > size - 8:
                return None
            header = handle.read(header_length)
            data_start = 8 + header_length
            data_length = size - data_start
            first = handle.read(min(SAMPLE_BYTES, data_length))
            last = b""
            if data_length > SAMPLE_BYTES:
                handle.seek(max(data_start + SAMPLE_BYTES, size - SAMPLE_BYTES))
                last = handle.read()
    except OSError:
        return None
    return header + b"\0" + first + b"\0" + last


def _family(folder: Path) -> str | None:
    """The registry key config.json picks, or None (an adapter without config.json, an unknown model)."""
    from pagelens.embed.checkpoint import Checkpoint
    from pagelens.embed.registry import select_backend
    from pagelens.errors import PagelensError

    config = _read_json(folder / "config.json")
    if config is None:
        return None
    adapter = _read_json(folder / "adapter_config.json")
    try:
        checkpoint = Checkpoint(str(folder), str(folder), True, False, config, adapter)
        return select_backend(checkpoint).key
    except PagelensError:
        return None


def _cached_folder(name: str) -> Path | None:
    """The local Hugging Face cache's snapshot folder of Hub model `name`, or None (no network)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - a dependency of transformers
        return None
    for filename in CONFIG_FILES:
        try:
            found = try_to_load_from_cache(name, filename)
        except Exception:  # an odd name or a broken cache: simply not cached
            continue
        if isinstance(found, str):
            return Path(found).parent
    return None


def resolve_local(name_or_path: str) -> Path | None:
    """The folder holding `name_or_path`'s files on this machine: the folder itself, or the cache snapshot."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path.resolve()
    if path.is_absolute() or name_or_path.startswith((".", "~")) or name_or_path.count("/") != 1:
        return None  # not a Hub id
    return _cached_folder(name_or_path)


def fingerprint(name_or_path: str, dim: int | None = None) -> ModelFingerprint:
    """The fingerprint of a model folder or Hub name, from local files only."""
    folder = resolve_local(name_or_path)
    is_folder = Path(name_or_path).expanduser().is_dir()
    hub_name = None if is_folder else name_or_path
    if folder is None:
        return ModelFingerprint(dim=dim, hub_name=hub_name)
    return ModelFingerprint(
        family=_family(folder),
        dim=dim,
        config_digest=config_digest(folder),
        weights_digest=weights_digest(folder),
        hub_name=hub_name,
    )


def location_of(name_or_path: str) -> str:
    """Where a model was found: an absolute folder for a local path, else the name as given."""
    path = Path(name_or_path).expanduser()
    return str(path.resolve()) if path.is_dir() else name_or_path


def _legacy_key(model: str) -> str:
    """How indexes without a fingerprint compared models: a folder by its resolved path, else the name."""
    path = Path(model).expanduser()
    return str(path.resolve()) if path.exists() else model


def index_model_source(
    stored_model: str, stored: dict[str, Any] | None, last_location: str | None, requested: str | None
) -> str | None:
    """What to load an index's model from, or None when `requested` is a different checkpoint.

    `stored_model` is the model as the index was built with (as typed then), `stored` its fingerprint
    (None for indexes made before fingerprints), `last_location` where it was last found. With no
    `requested` model the index's own is used: its last location when that still holds the same checkpoint
    (a relative path typed from another directory), else the stored name."""
    known = ModelFingerprint.from_dict(stored)
    if known is None:
        if requested is None or _legacy_key(requested) == _legacy_key(stored_model):
            return requested or stored_model
        return None
    if requested is not None:
        verdict = known.same_as(fingerprint(requested))
        if verdict is not None:
            return requested if verdict else None
        if requested != stored_model:
            return None  # nothing on this machine to compare with, and not the name it was built with
    for candidate in (last_location, stored_model):
        if candidate and resolve_local(candidate) is not None and known.same_as(fingerprint(candidate)):
            return candidate
    return requested or stored_model
