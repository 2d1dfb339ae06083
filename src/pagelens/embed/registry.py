"""The table of model backends, and how a checkpoint's own config files pick one.

A backend is chosen from what the checkpoint says about itself, never from its name. Each `BackendSpec` lists
the config.json `model_type` values it runs and the class names it expects in `architectures`:

=========================  ==========================  =========================================
config.json model_type     architectures               model class
=========================  ==========================  =========================================
"colpali"                  (any)                       transformers.ColPaliForRetrieval
"colqwen2"                 (any)                       transformers.ColQwen2ForRetrieval
"colmodernvbert"           (any)                       transformers.ColModernVBertForRetrieval
"neomme"                   NeoMMEForRetrieval          transformers.NeoMMEForRetrieval
"paligemma"                ColPali                     colpali-engine ColPali
"qwen2_vl"                 ColQwen2                    colpali-engine ColQwen2
"qwen2_5_vl"               ColQwen2_5                  colpali-engine ColQwen2_5
"qwen3_vl"                 ColQwen3                    colpali-engine ColQwen3
"qwen3_5"                  ColQwen3_5                  colpali-engine ColQwen3_5
"idefics3"                 ColIdefics3                 colpali-engine ColIdefics3
"modernvbert"              ColModernVBert              colpali-engine ColModernVBert
"gemma3"                   ColGemma3                   colpali-engine ColGemma3
"qwen2_5_omni_thinker"     ColQwen2_5Omni              colpali-engine ColQwen2_5Omni
=========================  ==========================  =========================================

For a PEFT adapter checkpoint without a config.json of its own, the base model's config.json counts.

Rows whose model_type is retrieval-specific (`model_type_suffices`) match on the model_type alone. The others
(a backbone's model_type, shared with plain vision-language models) need one of their class names in
`architectures`, or an adapter checkpoint (the retrieval head then comes with the adapter), or no
`architectures` at all (`accepts_bare`). A plain vision-language model (e.g. architectures
["PaliGemmaForConditionalGeneration"], or a NeoMME masked-LM backbone) has no multi-vector projection head and
is refused instead of producing garbage. Everything else raises `UnsupportedModelError` naming what was found.

New families plug in without editing this module: a package declares an entry point in the group
`pagelens.backends` (pyproject: ``[project.entry-points."pagelens.backends"] myfamily = "pkg.mod:SPEC"``)
whose object is a `BackendSpec`, a list of them, or a callable returning either. Built-in rows win on a key
clash. Classes are named as "module:attr" strings and imported only when a model is loaded.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, replace
from typing import Any, Literal

from pagelens.embed.checkpoint import Checkpoint
from pagelens.errors import ModelError, UnsupportedModelError

logger = logging.getLogger(__name__)

#: How a backend's processor sizes images, which decides `Embedder.image_side`:
#: "fixed": resized to a fixed height x width (PaliGemma's 448 x 448, Gemma 3's 896 x 896);
#: "max_pixels": resized to fit a pixel budget keeping the aspect ratio (Qwen2-VL / Qwen3-VL min/max_pixels);
#: "longest_edge": long side resized to `size["longest_edge"]`, then tiled (Idefics3, ModernVBert);
#: "max_side": native resolution up to a longest-side cap `max_side` (NeoMME).
ImageSideRule = Literal["fixed", "max_pixels", "longest_edge", "max_side"]

#: The entry-point group third-party backends register in.
ENTRY_POINT_GROUP = "pagelens.backends"

_ENGINE = "pagelens.embed.colpali_engine_backend:ColpaliEngineEmbedder"
_TRANSFORMERS = "pagelens.embed.transformers_backend:TransformersEmbedder"
_NEOMME = "pagelens.embed.transformers_backend:NeoMMEEmbedder"
#: The library versions the tiny-model tests of every built-in row ran with.
TESTED_WITH = {"colpali-engine": "0.3.18", "transformers": "5.24"}


@dataclass(frozen=True)
class BackendSpec:
    """One row of the backend table.

    Attributes:
        key: a stable name ("colqwen3"), stored with fingerprints and shown by `pagelens models`.
        description: one line for logs and listings.
        embedder: "module:attr" of the pagelens Embedder class that runs it.
        model_class / processor_class: "module:attr" of the model and processor classes.
        image_side_rule: how the processor sizes pages (see `ImageSideRule`).
        model_types: config.json `model_type` values this row runs.
        architectures: class names in config.json `architectures` that name this row.
        model_type_suffices: the model_type alone identifies a retrieval checkpoint (transformers-native).
        library: the pip distribution the classes come from (for error messages and `pagelens models`).
        tested_with: the version of `library` pagelens' tests ran this row with.
    """

    key: str
    description: str
    embedder: str
    model_class: str
    processor_class: str
    image_side_rule: ImageSideRule
    model_types: tuple[str, ...] = ()
    architectures: tuple[str, ...] = ()
    model_type_suffices: bool = False
    library: str = "colpali-engine"
    tested_with: str = ""

    @property
    def family_class(self) -> str:
        """The model class's own name ("ColQwen3", "NeoMMEForRetrieval")."""
        return self.model_class.rpartition(":")[2]


def _engine(
    key: str,
    description: str,
    module: str,
    model: str,
    processor: str,
    rule: ImageSideRule,
    model_type: str,
    embedder: str = _ENGINE,
) -> BackendSpec:
    # Submodules, not `colpali_engine.models`: the package namespace imports every family at once.
    return BackendSpec(
        key,
        description,
        embedder,
        f"colpali_engine.models.{module}:{model}",
        f"colpali_engine.models.{module}:{processor}",
        rule,
        model_types=(model_type,),
        architectures=(model,),
        library="colpali-engine",
        tested_with=TESTED_WITH["colpali-engine"],
    )


def _native(
    key: str, model: str, processor: str, rule: ImageSideRule, model_type: str, **kw: Any
) -> BackendSpec:
    return BackendSpec(
        key,
        f"{model} via transformers",
        kw.pop("embedder", _TRANSFORMERS),
        f"transformers:{model}",
        f"transformers:{processor}",
        rule,
        model_types=(model_type,),
        architectures=(model,),
        model_type_suffices=kw.pop("model_type_suffices", True),
        library="transformers",
        tested_with=TESTED_WITH["transformers"],
    )


BUILTIN_BACKENDS: tuple[BackendSpec, ...] = (
    _engine(
        "colpali",
        "ColPali (PaliGemma) via colpali-engine",
        "paligemma.colpali",
        "ColPali",
        "ColPaliProcessor",
        "fixed",
        "paligemma",
    ),
    _engine(
        "colqwen2",
        "ColQwen2 (Qwen2-VL) via colpali-engine",
        "qwen2.colqwen2",
        "ColQwen2",
        "ColQwen2Processor",
        "max_pixels",
        "qwen2_vl",
    ),
    _engine(
        "colqwen2_5",
        "ColQwen2.5 (Qwen2.5-VL) via colpali-engine",
        "qwen2_5.colqwen2_5",
        "ColQwen2_5",
        "ColQwen2_5_Processor",
        "max_pixels",
        "qwen2_5_vl",
    ),
    _engine(
        "colqwen3",
        "ColQwen3 (Qwen3-VL) via colpali-engine",
        "qwen3.colqwen3",
        "ColQwen3",
        "ColQwen3Processor",
        "max_pixels",
        "qwen3_vl",
    ),
    _engine(
        "colqwen3_5",
        "ColQwen3.5 (Qwen3.5) via colpali-engine",
        "qwen3_5.colqwen3_5",
        "ColQwen3_5",
        "ColQwen3_5Processor",
        "max_pixels",
        "qwen3_5",
    ),
    _engine(
        "colidefics3",
        "ColIdefics3 / ColSmol (Idefics3) via colpali-engine",
        "idefics3.colidefics3",
        "ColIdefics3",
        "ColIdefics3Processor",
        "longest_edge",
        "idefics3",
    ),
    _engine(
        "colmodernvbert",
        "ColModernVBert (ModernVBert) via colpali-engine",
        "modernvbert.colmodernvbert",
        "ColModernVBert",
        "ColModernVBertProcessor",
        "longest_edge",
        "modernvbert",
    ),
    _engine(
        "colgemma3",
        "ColGemma3 (Gemma 3) via colpali-engine",
        "gemma3.colgemma3",
        "ColGemma3",
        "ColGemmaProcessor3",
        "fixed",
        "gemma3",
    ),
    # Not tested: colpali-engine 0.3.18's class cannot be constructed with transformers 5; its embedder
    # checks that first and raises a ModelError saying so (pagelens/embed/qwen_omni_backend.py).
    replace(
        _engine(
            "colqwen2_5omni",
            "ColQwen2.5-Omni (Qwen2.5-Omni thinker) via colpali-engine",
            "qwen_omni.colqwen_omni",
            "ColQwen2_5Omni",
            "ColQwen2_5OmniProcessor",
            "max_pixels",
            "qwen2_5_omni_thinker",
            embedder="pagelens.embed.qwen_omni_backend:ColQwenOmniEmbedder",
        ),
        tested_with="",
    ),
    _native("hf-colpali", "ColPaliForRetrieval", "ColPaliProcessor", "fixed", "colpali"),
    _native("hf-colqwen2", "ColQwen2ForRetrieval", "ColQwen2Processor", "max_pixels", "colqwen2"),
    _native(
        "hf-colmodernvbert",
        "ColModernVBertForRetrieval",
        "ColModernVBertProcessor",
        "longest_edge",
        "colmodernvbert",
    ),
    _native(
        "hf-neomme",
        "NeoMMEForRetrieval",
        "NeoMMEProcessor",
        "max_side",
        "neomme",
        embedder=_NEOMME,
        model_type_suffices=False,  # "neomme" is also the plain (masked-LM) backbone
    ),
)

#: Built-in rows by key. `backends()` adds the entry-point plugins.
BACKENDS: dict[str, BackendSpec] = {spec.key: spec for spec in BUILTIN_BACKENDS}

_plugins: dict[str, BackendSpec] | None = None


def backends() -> dict[str, BackendSpec]:
    """Every backend: the built-in table, then those registered under the `pagelens.backends` entry points."""
    global _plugins
    if _plugins is None:
        _plugins = _load_plugins()
    merged = dict(_plugins)
    merged.update(BACKENDS)
    return merged


def reload_plugins() -> None:
    """Forget the plugins found so far (tests, or after installing a plugin in a running process)."""
    global _plugins
    _plugins = None


def _load_plugins() -> dict[str, BackendSpec]:
    from importlib.metadata import entry_points

    found: dict[str, BackendSpec] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = point.load()
            if callable(obj) and not isinstance(obj, BackendSpec):
                obj = obj()
            specs = [obj] if isinstance(obj, BackendSpec) else list(obj)
        except Exception as exc:  # a broken plugin must not take pagelens down
            logger.warning("backend plugin %s (%s) failed to load: %s", point.name, point.value, exc)
            continue
        for spec in specs:
            if not isinstance(spec, BackendSpec):
                logger.warning("backend plugin %s gave %r, not a BackendSpec; ignored", point.name, spec)
                continue
            if spec.key in BACKENDS:
                logger.warning(
                    "backend plugin %s: key %r is built in; the built-in row wins", point.name, spec.key
                )
                continue
            found[spec.key] = spec
    return found


def select_backend(checkpoint: Checkpoint) -> BackendSpec:
    """The backend for `checkpoint`, from its config.json (or its adapter's base model's config.json)."""
    config = checkpoint.model_config
    model_type = config.get("model_type")
    architectures = [a for a in (config.get("architectures") or []) if isinstance(a, str)]
    table = backends()
    candidates = [spec for spec in table.values() if model_type in spec.model_types]
    if not candidates:
        where = (
            f"the base model {checkpoint.base.name}'s config.json"
            if checkpoint.config is None and checkpoint.base
            else "config.json"
        )
        raise UnsupportedModelError(
            f"{checkpoint.name} is not a model pagelens can run: {where} has model_type={model_type!r}, "
            f"architectures={architectures}. Supported: {supported_models()}."
        )
    named = [spec for spec in candidates if set(spec.architectures) & set(architectures)]
    if named:
        return named[0]
    suffices = [spec for spec in candidates if spec.model_type_suffices]
    if suffices:
        return suffices[0]
    elsewhere = [spec for spec in table.values() if set(spec.architectures) & set(architectures)]
    if elsewhere:
        logger.warning(
            "%s: architectures %s disagree with model_type %r; following model_type (%s)",
            checkpoint.name,
            architectures,
            model_type,
            candidates[0].description,
        )
    if elsewhere or checkpoint.is_adapter or not architectures:
        return candidates[0]
    expected = sorted({a for spec in candidates for a in spec.architectures})
    raise UnsupportedModelError(
        f"{checkpoint.name}: config.json describes a plain {', '.join(architectures)} ({model_type}) "
        "model, not a ColPali-family retriever: it has no multi-vector projection head. "
        f"Use a retrieval checkpoint trained from it (architectures {expected}), or a PEFT adapter on top of it."
    )


def supported_models() -> str:
    """One line naming every supported family and its config model_type."""
    rows = backends().values()
    engine = ", ".join(
        f"{s.family_class} ({'/'.join(s.model_types)})" for s in rows if s.library == "colpali-engine"
    )
    native = ", ".join(
        f"{s.family_class} ({'/'.join(s.model_types)})" for s in rows if s.library == "transformers"
    )
    others = ", ".join(
        f"{s.family_class} ({s.library})" for s in rows if s.library not in ("colpali-engine", "transformers")
    )
    return f"colpali-engine {engine}; transformers {native}" + (f"; plugins {others}" if others else "")


def import_object(target: str) -> Any:
    """Import "package.module:attr" and return the attribute."""
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)


def import_backend_class(spec: BackendSpec, target: str) -> Any:
    """`import_object(target)` for a backend, with a `ModelError` naming the missing piece when it fails."""
    from pagelens.embed.torchvision_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    try:
        return import_object(target)
    except (ImportError, AttributeError) as exc:
        version = _installed_version(spec.library)
        have = f"{spec.library} {version} is installed" if version else f"{spec.library} is not installed"
        tested = f" (pagelens is tested with {spec.library} {spec.tested_with})" if spec.tested_with else ""
        raise ModelError(
            f"backend {spec.key!r} needs {target.replace(':', '.')} from {spec.library}{tested}; {have} and "
            f"it cannot be imported: {type(exc).__name__}: {exc}"
        ) from exc


def _installed_version(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None
