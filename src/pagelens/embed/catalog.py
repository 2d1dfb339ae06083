"""Recommended checkpoints, with the numbers their publishers give, and which of them this machine has.

The data here is what `pagelens models` prints and what the README's model table is generated from
(`render_markdown`). Rules for the data:

- A score is listed only if it was read in a published source, whose address is `Score.source`. Where a
  number could not be checked, there is no `Score` and the entry's `unverified` says which number was
  claimed and not verified here. Numbers are never estimated or copied from memory.
- A licence is listed only if it was read on the model's card (or the library documentation naming it);
  otherwise `licence` is None and shows as "not verified here".
- `family` is a key of `pagelens.embed.registry.backends()`; `loads` says whether pagelens has loaded a
  checkpoint of that layout (a tiny model of the family in the tests), not this exact checkpoint.

Availability is looked up locally only (the Hugging Face cache and folders the caller names); nothing here
touches the network. Importing this module is cheap (standard library only).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: ViDoRe leaderboard figures reproduced on this card (a third party's card; the table names its sources).
_VULTR_CARD = "https://huggingface.co/vultr/VultronRetrieverFlash-Qwen3.5-0.8B"
_ATHRAEL_CARD = "https://huggingface.co/athrael-soju/colqwen3.5-4.5B-v3"


@dataclass(frozen=True)
class Score:
    """One published benchmark number."""

    benchmark: str  # "ViDoRe v1", "ViDoRe v3"
    metric: str  # "nDCG@5"
    value: float  # as published, on a 0-100 scale
    source: str  # where it is published (model card URL)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "metric": self.metric,
            "value": self.value,
            "source": self.source,
            "note": self.note,
        }


@dataclass(frozen=True)
class CatalogEntry:
    """A recommended checkpoint."""

    name: str  # Hugging Face Hub id
    family: str  # registry key
    parameters: str  # as its card states it ("250M", "4.0B")
    dim: int | None  # vector size
    licence: str | None
    licence_source: str = ""
    scores: tuple[Score, ...] = ()
    role: str = ""  # "default", "cpu" or ""
    unverified: str = ""  # what was claimed but not verified here
    notes: str = ""
    card: str = ""

    @property
    def card_url(self) -> str:
        return self.card or f"https://huggingface.co/{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "role": self.role,
            "parameters": self.parameters,
            "dim": self.dim,
            "licence": self.licence,
            "licence_source": self.licence_source,
            "scores": [s.to_dict() for s in self.scores],
            "unverified": self.unverified,
            "notes": self.notes,
            "card": self.card_url,
        }


CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        name="vidore/colqwen2.5-v0.2",
        family="colqwen2_5",
        role="default",
        parameters="3B (Qwen2.5-VL-3B base + LoRA adapter)",
        dim=128,
        licence="MIT",
        licence_source="https://huggingface.co/vidore/colqwen2.5-v0.2",
        unverified="ViDoRe v1 nDCG@5 89.4 (the card's own table was not readable here)",
        notes="dynamic resolution (~700-770 vectors a page), 128-d; wants a GPU for bulk indexing",
    ),
    CatalogEntry(
        name="TomoroAI/tomoro-colqwen3-embed-4b",
        family="colqwen3",
        parameters="4.0B",
        dim=320,
        licence=None,
        scores=(
            Score(
                "ViDoRe v1",
                "nDCG@5",
                90.57,
                _VULTR_CARD,
                "leaderboard table reproduced on a third-party card",
            ),
            Score("ViDoRe v3", "nDCG@10", 60.16, _VULTR_CARD, "mean over public tasks, same table"),
        ),
        unverified="licence, and the authors' own scores (the numbers shown are a third party's copy of the "
        "leaderboard)",
        notes="320-d vectors (2.5x the storage of 128-d); ships custom code: loading it through the ColQwen3 "
        "backend is not verified here",
    ),
    CatalogEntry(
        name="athrael-soju/colqwen3.5-4.5B-v3",
        family="colqwen3_5",
        parameters="4.5B",
        dim=320,
        licence=None,
        scores=(
            Score("ViDoRe v1", "nDCG@5", 91.56, _ATHRAEL_CARD, "average of the card's per-task table"),
            Score(
                "ViDoRe v3", "nDCG@10", 61.56, _ATHRAEL_CARD, "mean (public) in the card's leaderboard table"
            ),
        ),
        unverified="licence; ViDoRe v1 nDCG@5 90.9 (claimed for ColQwen3.5-4.5B; the card read here says 91.56)",
        notes="config.json sets dim 320, read by ColQwen3_5",
    ),
    CatalogEntry(
        name="vidore/colpali-v1.3",
        family="colpali",
        parameters="3B (PaliGemma-3B base + LoRA adapter)",
        dim=128,
        licence=None,
        unverified="licence (Gemma terms for the PaliGemma base) and ViDoRe scores",
        notes="fixed 448x448 input, 1,030 vectors a page",
    ),
    CatalogEntry(
        name="ModernVBERT/colmodernvbert",
        family="colmodernvbert",
        role="cpu",
        parameters="250M",
        dim=128,
        licence="MIT",
        licence_source="https://huggingface.co/ModernVBERT/colmodernvbert/blob/main/README.md",
        unverified="ViDoRe v1 nDCG@5 80.6; its paper (arXiv 2510.01149) says it beats models up to 10x larger "
        "and runs on cheap CPU hardware, but no number was verified here",
        notes="the smallest recommended checkpoint: the CPU pick",
    ),
    CatalogEntry(
        name="Hcompany/NeoMME-800M-Retriever",
        family="hf-neomme",
        parameters="800M",
        dim=None,
        licence="Apache-2.0",
        licence_source="https://huggingface.co/docs/transformers/en/model_doc/neomme",
        unverified="ViDoRe v1 nDCG@5 87.4 and the vector size",
        notes="transformers NeoMMEForRetrieval; MeanMaxSim scoring on its card (pagelens ranks by MaxSim)",
    ),
    CatalogEntry(
        name="vidore/colSmol-256M",
        family="colidefics3",
        parameters="256M",
        dim=128,
        licence=None,
        unverified="licence and ViDoRe scores",
        notes="what scripts/demo.sh uses by default; small enough for a CPU",
    ),
)

NOT_VERIFIED = "not verified here"


def default_entry() -> CatalogEntry:
    return next(e for e in CATALOG if e.role == "default")


def cpu_entry() -> CatalogEntry:
    return next(e for e in CATALOG if e.role == "cpu")


# ---- what this machine has ----------------------------------------------------------------------------


@dataclass
class Availability:
    """Where a checkpoint was found on this machine (no network)."""

    name: str
    where: str | None = None  # "hf-cache" or a folder
    path: str | None = None

    @property
    def available(self) -> bool:
        return self.where is not None

    def to_dict(self) -> dict[str, Any]:
        return {"available": self.available, "where": self.where, "path": self.path}


def _in_hf_cache(name: str) -> str | None:
    """The cached config file of Hub model `name`, or None (reads the local cache only)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - a dependency of transformers
        return None
    for filename in ("config.json", "adapter_config.json"):
        try:
            found = try_to_load_from_cache(name, filename)
        except Exception:  # a malformed cache must not break a listing
            continue
        if isinstance(found, str):
            return str(Path(found).parent)
    return None


def _in_folders(name: str, folders: list[Path]) -> str | None:
    """A folder named like the Hub id's last part (or the whole id) under one of `folders`."""
    short = name.rpartition("/")[2]
    for folder in folders:
        for candidate in (folder / short, folder / name, folder / name.replace("/", "--")):
            if (candidate / "config.json").is_file() or (candidate / "adapter_config.json").is_file():
                return str(candidate)
    return None


def availability(name: str, folders: list[Path] | None = None) -> Availability:
    found = _in_folders(name, folders or [])
    if found:
        return Availability(name, "folder", found)
    cached = _in_hf_cache(name)
    if cached:
        return Availability(name, "hf-cache", cached)
    return Availability(name)


def local_checkpoints(folders: list[Path]) -> list[dict[str, Any]]:
    """Every checkpoint folder directly in `folders` (or a folder itself), with the family its config picks."""
    from pagelens.embed.checkpoint import locate_checkpoint
    from pagelens.embed.registry import select_backend
    from pagelens.errors import PagelensError

    found: list[dict[str, Any]] = []
    for folder in folders:
        children = [folder] + (sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else [])
        for child in children:
            if not ((child / "config.json").is_file() or (child / "adapter_config.json").is_file()):
                continue
            row: dict[str, Any] = {"path": str(child), "family": None, "error": None}
            try:
                row["family"] = select_backend(locate_checkpoint(str(child))).key
            except PagelensError as exc:
                row["error"] = str(exc)
            found.append(row)
    return found


def model_folders(extra: list[str] | None = None) -> list[Path]:
    """Folders to look in: the ones given, then `$PAGELENS_MODELS_DIR` (os.pathsep-separated)."""
    paths = list(extra or [])
    paths += [p for p in os.environ.get("PAGELENS_MODELS_DIR", "").split(os.pathsep) if p]
    return [Path(p).expanduser() for p in paths]


# ---- the families -------------------------------------------------------------------------------------


def families() -> list[dict[str, Any]]:
    """Every backend the registry knows (built in and plugins), with its library's installed version."""
    from importlib.metadata import PackageNotFoundError, version

    from pagelens.embed.registry import backends

    rows = []
    for spec in backends().values():
        try:
            installed: str | None = version(spec.library)
        except PackageNotFoundError:
            installed = None
        rows.append(
            {
                "key": spec.key,
                "class": spec.family_class,
                "model_types": list(spec.model_types),
                "architectures": list(spec.architectures),
                "library": spec.library,
                "installed": installed,
                "tested_with": spec.tested_with,
                "description": spec.description,
            }
        )
    return rows


def listing(folders: list[Path] | None = None) -> dict[str, Any]:
    """What `pagelens models --json` prints."""
    folders = folders or []
    checkpoints = []
    for entry in CATALOG:
        row = entry.to_dict()
        row["local"] = availability(entry.name, folders).to_dict()
        checkpoints.append(row)
    return {
        "default": default_entry().name,
        "cpu_pick": cpu_entry().name,
        "families": families(),
        "checkpoints": checkpoints,
        "local_folders": local_checkpoints(folders),
    }


# ---- the README table ---------------------------------------------------------------------------------


def _score_cell(entry: CatalogEntry, benchmark: str) -> str:
    for score in entry.scores:
        if score.benchmark == benchmark:
            return f"{score.value:g} ([source]({score.source}))"
    return NOT_VERIFIED


def render_markdown() -> str:
    """The README's recommended-checkpoints table (the README section must equal this; a test checks)."""
    lines = [
        "| checkpoint | family | parameters | dim | licence | ViDoRe v1 nDCG@5 | ViDoRe v3 nDCG@10 | role |",
        "|---|---|---|---:|---|---|---|---|",
    ]
    for entry in CATALOG:
        licence = f"[{entry.licence}]({entry.licence_source})" if entry.licence else NOT_VERIFIED
        role = {"default": "**default**", "cpu": "**CPU pick**"}.get(entry.role, "")
        lines.append(
            f"| [{entry.name}]({entry.card_url}) | {entry.family} | {entry.parameters} | "
            f"{entry.dim if entry.dim else NOT_VERIFIED} | {licence} | {_score_cell(entry, 'ViDoRe v1')} | "
            f"{_score_cell(entry, 'ViDoRe v3')} | {role} |"
        )
    return "\n".join(lines) + "\n"


README_START = "<!-- models-table:start (generated by pagelens.embed.catalog.render_markdown) -->"
README_END = "<!-- models-table:end -->"


def readme_section(text: str) -> str | None:
    """The generated table as it stands in README text, or None when the markers are missing."""
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        return None
    return text[start + len(README_START) : end].strip("\n") + "\n"
