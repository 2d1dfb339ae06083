"""Find a checkpoint's own description (config.json, adapter_config.json) before any weights are touched.

A model is named by a local folder or a Hugging Face Hub id. Its config files are read from the folder, or
fetched from the Hub with short timeouts and no retries, or taken from the local Hugging Face cache when the
Hub cannot be reached (or HF_HUB_OFFLINE is set). When none of that works, `ModelNotAvailableError` comes
within seconds, saying how to get the model onto this machine: huggingface_hub's own download path retries
network errors with back-off for about 25 s before giving up, so the Hub is probed once, without retries,
first.

For a PEFT adapter checkpoint (adapter_config.json), the base model named in `base_model_name_or_path` is
located the same way, so that a missing base is reported up front rather than halfway through loading.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pagelens.errors import ModelNotAvailableError, UnsupportedModelError

logger = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
ADAPTER_CONFIG_FILE = "adapter_config.json"
#: Seconds to wait for the Hub to answer one metadata request. HF_HUB_ETAG_TIMEOUT overrides it.
DEFAULT_HUB_TIMEOUT = 5.0


@dataclass(frozen=True)
class Checkpoint:
    """Where a model lives and what its config files say.

    Attributes:
        name: the name or path as the user gave it.
        location: what to pass to `from_pretrained`: an absolute folder path or a Hub repo id.
        is_local: `location` is a folder on this machine.
        local_files_only: a Hub model that must be loaded from the local Hugging Face cache (offline).
        config: the checkpoint's own config.json, if it has one.
        adapter_config: adapter_config.json, for PEFT adapter checkpoints.
        base: the adapter's base model, located the same way.
    """

    name: str
    location: str
    is_local: bool
    local_files_only: bool
    config: dict[str, Any] | None
    adapter_config: dict[str, Any] | None = None
    base: Checkpoint | None = None

    @property
    def is_adapter(self) -> bool:
        return self.adapter_config is not None

    @property
    def model_config(self) -> dict[str, Any]:
        """The config.json that describes the network: the checkpoint's own, else its base model's."""
        if self.config is not None:
            return self.config
        if self.base is not None:
            return self.base.model_config
        return {}


def locate_checkpoint(name_or_path: str) -> Checkpoint:
    """Read the config files of a local folder or Hub model (see the module docstring).

    Raises:
        ModelNotAvailableError: neither a local folder nor reachable on the Hub nor in the local cache.
        UnsupportedModelError: found, but it has no readable config.json / adapter_config.json.
    """
    checkpoint = _locate_one(name_or_path)
    if checkpoint.adapter_config is None:
        return checkpoint
    base_name = checkpoint.adapter_config.get("base_model_name_or_path")
    if not isinstance(base_name, str) or not base_name:
        if checkpoint.config is not None:
            return checkpoint
        raise UnsupportedModelError(
            f"{name_or_path}: adapter_config.json names no base model (base_model_name_or_path) and there is "
            "no config.json, so the model cannot be identified"
        )
    try:
        base = _locate_one(base_name)
    except ModelNotAvailableError as exc:
        raise ModelNotAvailableError(
            f"{name_or_path} is a PEFT adapter on top of the base model {base_name!r}, which is not "
            f"available: {exc}. If you have the base model in a folder, set base_model_name_or_path in "
            f"{name_or_path}/{ADAPTER_CONFIG_FILE} to that folder."
        ) from exc
    if base.adapter_config is not None:
        raise UnsupportedModelError(
            f"{name_or_path}: its base model {base_name!r} is itself an adapter; merge the adapters first"
        )
    return Checkpoint(
        name=checkpoint.name,
        location=checkpoint.location,
        is_local=checkpoint.is_local,
        local_files_only=checkpoint.local_files_only,
        config=checkpoint.config,
        adapter_config=checkpoint.adapter_config,
        base=base,
    )


def download_hint(name: str) -> str:
    """How to bring a Hub model onto a machine without Hub access."""
    return (
        f"On a machine with internet access run `huggingface-cli download {name} --local-dir DIR` "
        f"(or `hf download {name} --local-dir DIR`), copy DIR here and pass --model DIR "
        "(model=DIR from Python)"
    )


# --- local folders -------------------------------------------------------------------------------


def _locate_one(name: str) -> Checkpoint:
    path = Path(name).expanduser()
    if path.is_dir():
        return _local_checkpoint(name, path)
    if path.exists():
        raise ModelNotAvailableError(
            f"{name} is a file; pass the model's folder (the one holding {CONFIG_FILE})"
        )
    if _looks_like_path(name):
        raise ModelNotAvailableError(f"model folder {name} does not exist")
    return _hub_checkpoint(name)


def _looks_like_path(name: str) -> bool:
    return (
        os.path.isabs(name)
        or name.startswith((".", "~"))
        or name.endswith(("/", os.sep))
        or "\\" in name
        or name.count("/") > 1
    )


def _local_checkpoint(name: str, folder: Path) -> Checkpoint:
    config = _read_json(name, folder / CONFIG_FILE)
    adapter = _read_json(name, folder / ADAPTER_CONFIG_FILE)
    if config is None and adapter is None:
        raise UnsupportedModelError(
            f"{name}: the folder has neither {CONFIG_FILE} nor {ADAPTER_CONFIG_FILE}, so it is not a Hugging "
            "Face model checkpoint"
        )
    return Checkpoint(
        name=name,
        location=str(folder.resolve()),
        is_local=True,
        local_files_only=True,
        config=config,
        adapter_config=adapter,
    )


def _read_json(name: str, file: Path | str | None) -> dict[str, Any] | None:
    if file is None or not os.path.isfile(file):
        return None
    try:
        data = json.loads(Path(file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnsupportedModelError(f"{name}: cannot read {Path(file).name}: {exc}") from exc
    if not isinstance(data, dict):
        raise UnsupportedModelError(f"{name}: {Path(file).name} does not hold a JSON object")
    return data


# --- the Hugging Face Hub ------------------------------------------------------------------------


def _hub_checkpoint(name: str) -> Checkpoint:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError as exc:
        raise ModelNotAvailableError(
            f"{name!r} is neither a model folder on this machine nor a valid Hugging Face Hub model id"
        ) from exc

    if _offline_mode():
        return _cached_checkpoint(name, "HF_HUB_OFFLINE is set")
    reachable, has_config, reason = _probe_hub(name)
    if not reachable:
        return _cached_checkpoint(name, reason)

    config = _read_json(name, _hub_file(name, CONFIG_FILE)) if has_config else None
    adapter = _read_json(name, _hub_file(name, ADAPTER_CONFIG_FILE))
    if config is None and adapter is None:
        raise UnsupportedModelError(
            f"{name}: the Hub repository has neither {CONFIG_FILE} nor {ADAPTER_CONFIG_FILE}, so it is not a "
            "Hugging Face model checkpoint"
        )
    return Checkpoint(
        name=name,
        location=name,
        is_local=False,
        local_files_only=False,
        config=config,
        adapter_config=adapter,
    )


def _offline_mode() -> bool:
    from huggingface_hub import constants

    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return bool(constants.HF_HUB_OFFLINE) or any(
        v.strip().upper() in {"1", "ON", "YES", "TRUE"} for v in flags
    )


def _hub_timeout() -> float:
    value = os.environ.get("HF_HUB_ETAG_TIMEOUT", "")
    try:
        return float(value) if value.strip() else DEFAULT_HUB_TIMEOUT
    except ValueError:
        return DEFAULT_HUB_TIMEOUT


def _probe_hub(name: str) -> tuple[bool, bool, str]:
    """Ask the Hub once, without retries, for config.json's metadata.

    Returns (reachable, has_config, reason). Repository-level answers (not found, gated) raise at once.
    """
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        RepositoryNotFoundError,
    )

    try:
        get_hf_file_metadata(hf_hub_url(name, CONFIG_FILE), timeout=_hub_timeout())
    except GatedRepoError as exc:
        raise ModelNotAvailableError(
            f"{name} is a gated model on the Hugging Face Hub: accept its terms on "
            f"https://huggingface.co/{name} and log in (`huggingface-cli login` or HF_TOKEN), or download it "
            "elsewhere. " + download_hint(name)
        ) from exc
    except RepositoryNotFoundError as exc:
        raise ModelNotAvailableError(
            f"{name} is neither a model folder on this machine nor a model on the Hugging Face Hub (if it is "
            "private, log in with `huggingface-cli login` or set HF_TOKEN)"
        ) from exc
    except EntryNotFoundError:
        return True, False, ""
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        return False, False, f"the Hub answered HTTP {status}"
    except Exception as exc:  # network errors: their classes depend on the huggingface_hub version
        logger.debug("Hub probe for %s failed", name, exc_info=True)
        return False, False, f"cannot reach the Hugging Face Hub: {type(exc).__name__}: {exc}"
    return True, True, ""


def _hub_file(name: str, filename: str) -> str | None:
    """Download one small file of a reachable Hub repository; None when the repository has no such file."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    try:
        return str(hf_hub_download(name, filename, etag_timeout=_hub_timeout()))
    except EntryNotFoundError:
        return None
    except Exception as exc:  # the Hub went away between the probe and the download
        raise ModelNotAvailableError(
            f"{name}: fetching {filename} from the Hugging Face Hub failed ({type(exc).__name__}: {exc}). "
            + download_hint(name)
        ) from exc


def _cached_checkpoint(name: str, reason: str) -> Checkpoint:
    """A Hub model from the local Hugging Face cache, or ModelNotAvailableError naming `reason`."""
    from huggingface_hub import try_to_load_from_cache

    def cached(filename: str) -> str | None:
        found = try_to_load_from_cache(name, filename)
        return found if isinstance(found, str) else None

    config = _read_json(name, cached(CONFIG_FILE))
    adapter = _read_json(name, cached(ADAPTER_CONFIG_FILE))
    if config is None and adapter is None:
        raise ModelNotAvailableError(
            f"Model {name!r} is not a folder on this machine, is not in the local Hugging Face cache, and "
            f"cannot be downloaded ({reason}). " + download_hint(name)
        )
    logger.warning("%s: %s; using the copy in the local Hugging Face cache", name, reason)
    return Checkpoint(
        name=name, location=name, is_local=False, local_files_only=True, config=config, adapter_config=adapter
    )


# --- weight files ----------------------------------------------------------------------------------------


def check_weight_files(name: str, folder: Path) -> None:
    """Cheap integrity check of a local checkpoint's safetensors files before loading them: every shard the
    index json lists exists, and each file is as long as its own header says (a cut-off download is caught
    here, by name, instead of as an opaque error deep inside `from_pretrained`). Reads headers only.

    Raises:
        ModelError: naming the folder and the file that is missing, truncated or unreadable.
    """
    from pagelens.errors import ModelError

    for index_file in sorted(folder.glob("*.safetensors.index.json")):
        try:
            weight_map = json.loads(index_file.read_text(encoding="utf-8")).get("weight_map", {})
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
            raise ModelError(f"model {name} ({folder}): cannot read {index_file.name}: {exc}") from exc
        for shard in sorted(set(weight_map.values()) if isinstance(weight_map, dict) else []):
            if not (folder / shard).is_file():
                raise ModelError(
                    f"model {name} ({folder}): {shard} is missing (listed in {index_file.name}); "
                    "download the checkpoint again"
                )
    for weights in sorted(folder.glob("*.safetensors")):
        problem = _safetensors_problem(weights)
        if problem:
            raise ModelError(
                f"model {name} ({folder}): {weights.name} {problem}; download the checkpoint again"
            )


def _safetensors_problem(file: Path) -> str | None:
    """None when `file` is a complete safetensors file, else what is wrong with it."""
    size = file.stat().st_size
    try:
        with file.open("rb") as handle:
            head = handle.read(8)
            if len(head) < 8:
                return f"is truncated ({size} bytes, no header)"
            header_length = int.from_bytes(head, "little")
            if header_length > size - 8:
                return f"is truncated ({size} bytes; its header alone needs {header_length + 8})"
            header = json.loads(handle.read(header_length))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"has an unreadable header ({type(exc).__name__}: {exc})"
    ends = [
        int(entry["data_offsets"][1])
        for key, entry in header.items()
        if key != "__metadata__" and isinstance(entry, dict) and "data_offsets" in entry
    ]
    expected = 8 + header_length + max(ends, default=0)
    if size < expected:
        return f"is truncated ({size:,} bytes of {expected:,})"
    return None
