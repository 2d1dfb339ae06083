"""Datasets as sources: one page per row of a table that holds page images.

Three layouts are recognised (`is_dataset`):
- a folder written by `datasets.save_to_disk` (a Dataset, or a DatasetDict: its `corpus` split, else its only
  split); a folder of such configs (`corpus/`, `queries/`, ... as ViDoRe/BEIR exports) uses `corpus/`;
- parquet: a `.parquet` file, or a folder of them (a `corpus/` subfolder wins, as above);
- an image folder with a `metadata.csv` or `metadata.jsonl` sidecar whose `file_name` column names each image
  (the layout of Hugging Face's `imagefolder`).

Each row becomes a `Document` with `path = f"{dataset}#{row_id}"`, `kind = "dataset"` and the sha256 of the
row's image bytes as its content hash, so re-indexing an unchanged dataset re-embeds nothing. Rows are read
in small batches and `render_dataset_page` reads one row, so datasets far larger than memory work.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pagelens.errors import MissingDependencyError, SourceError, UsageError
from pagelens.sources.document import IMAGE_SUFFIXES, Document

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

#: Columns tried, in order, as the row id when none is named (the first one with unique values wins).
ID_CANDIDATES = (
    "corpus-id",
    "corpus_id",
    "id",
    "_id",
    "doc-id",
    "doc_id",
    "docid",
    "page_id",
    "image_id",
    "image_filename",
    "file_name",
    "filename",
)
#: Names of the table holding the pages in a DatasetDict or a folder of configs.
CORPUS_NAMES = ("corpus",)
SIDECARS = ("metadata.jsonl", "metadata.csv")
#: String metadata values longer than this are cut (Milvus JSON fields have a size limit).
MAX_METADATA_CHARS = 1024
_BATCH_ROWS = 32
_CACHE_SIZE = 8
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")


# ---- optional dependencies ---------------------------------------------------------------------------------
def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401 - loads the submodule
    except ImportError as exc:
        raise MissingDependencyError("pyarrow", "datasets") from exc
    return pyarrow


def _hf_datasets() -> Any:
    try:
        import datasets
    except ImportError as exc:
        raise MissingDependencyError("datasets", "datasets") from exc
    return datasets


# ---- layouts -----------------------------------------------------------------------------------------------
def _is_saved(path: Path) -> bool:
    """A folder written by `save_to_disk` (a Dataset or a DatasetDict)."""
    return (path / "dataset_dict.json").is_file() or (
        (path / "state.json").is_file() and (path / "dataset_info.json").is_file()
    )


def _sidecar(path: Path) -> Path | None:
    for name in SIDECARS:
        if (path / name).is_file():
            return path / name
    return None


def _parquet_files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*.parquet") if p.is_file() and not p.name.startswith("."))


def _has_documents(path: Path) -> bool:
    """Whether a folder holds PDFs or images of its own (then it is a folder of documents, not a dataset)."""
    from pagelens.sources.document import kind_of

    return any(kind_of(p) is not None for p in path.rglob("*") if p.is_file())


def _config_dirs(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir() and (_is_saved(p) or _parquet_files(p)))


def is_dataset(path: Path) -> bool:
    """Whether `path` is a dataset pagelens reads row by row (see the module's docstring for the layouts)."""
    path = Path(path)
    if path.is_file():
        return path.suffix.lower() == ".parquet"
    if not path.is_dir():
        return False
    if _is_saved(path) or _sidecar(path) is not None:
        return True
    if _config_dirs(path) and any((path / name).is_dir() for name in CORPUS_NAMES):
        return True
    return bool(_parquet_files(path)) and not _has_documents(path)


# ---- tables: rows as dicts, read in slices -----------------------------------------------------------------
@dataclass
class _Table:
    """A table of rows. `base` is the folder relative image paths resolve against (then `root`)."""

    root: Path
    base: Path
    columns: list[str]
    num_rows: int
    image_types: set[str] = field(default_factory=set)  # columns declared as images (HF `Image` feature)
    scalar: set[str] = field(default_factory=set)  # columns of scalar type (metadata candidates)
    files: list[Path] = field(default_factory=list)  # what the signature watches

    def read(self, start: int, stop: int, columns: Sequence[str]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def iter_rows(
        self, columns: Sequence[str], batch: int = _BATCH_ROWS
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        for start in range(0, self.num_rows, batch):
            rows = self.read(start, min(start + batch, self.num_rows), columns)
            yield from enumerate(rows, start=start)

    def signature(self) -> tuple[tuple[str, int, int], ...]:
        out = []
        for file in self.files:
            try:
                stat = file.stat()
                out.append((str(file), stat.st_mtime_ns, stat.st_size))
            except OSError:
                out.append((str(file), -1, -1))
        return tuple(out)


def _arrow_columns(schema: Any) -> tuple[list[str], set[str], set[str]]:
    """Column names, the ones declared `Image` in Hugging Face's schema metadata, and the scalar ones."""
    pa = _pyarrow()
    declared: set[str] = set()
    raw = (schema.metadata or {}).get(b"huggingface")
    if raw:
        try:
            features = json.loads(raw).get("info", {}).get("features", {})
            declared = {n for n, f in features.items() if isinstance(f, dict) and f.get("_type") == "Image"}
        except (ValueError, AttributeError):
            log.debug("unreadable huggingface schema metadata")
    scalar = set()
    for item in schema:
        t = item.type
        if (
            pa.types.is_string(t)
            or pa.types.is_large_string(t)
            or pa.types.is_integer(t)
            or pa.types.is_floating(t)
            or pa.types.is_boolean(t)
        ):
            scalar.add(item.name)
    return list(schema.names), declared, scalar


class _SavedTable(_Table):
    """A Dataset written by `save_to_disk`, memory-mapped by `datasets`."""

    def __init__(self, root: Path, folder: Path, dataset: Any) -> None:
        columns, declared, scalar = _arrow_columns(dataset.data.schema)
        datasets = _hf_datasets()
        declared |= {n for n, f in dataset.features.items() if isinstance(f, datasets.Image)}
        files = [folder / "state.json", *(folder / f["filename"] for f in _state_files(folder))]
        super().__init__(root, folder, columns, len(dataset), declared, scalar, files)
        self._dataset = dataset.with_format("arrow")

    def read(self, start: int, stop: int, columns: Sequence[str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self._dataset.select_columns(list(columns))[start:stop].to_pylist()
        return rows


def _state_files(folder: Path) -> list[dict[str, str]]:
    try:
        return list(json.loads((folder / "state.json").read_text()).get("_data_files", []))
    except (OSError, ValueError):
        return []


class _ParquetTable(_Table):
    """Parquet files read one row group at a time (the last one read is kept for the next row)."""

    def __init__(self, root: Path, files: list[Path]) -> None:
        pq = _pyarrow().parquet
        try:
            self._files = [pq.ParquetFile(str(f), memory_map=True) for f in files]
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
            raise SourceError(str(root), f"not a readable parquet dataset ({exc})") from exc
        schema = self._files[0].schema_arrow
        for file, parquet in zip(files[1:], self._files[1:], strict=True):
            if parquet.schema_arrow.names != schema.names:
                raise UsageError(
                    f"{root}: parquet files have different columns ({files[0].name}: {schema.names}, "
                    f"{file.name}: {parquet.schema_arrow.names}); index one split or file at a time"
                )
        columns, declared, scalar = _arrow_columns(schema)
        self._groups: list[tuple[int, int, int, int]] = []  # (first row, rows, file index, group index)
        first = 0
        for number, parquet in enumerate(self._files):
            for group in range(parquet.num_row_groups):
                rows = parquet.metadata.row_group(group).num_rows
                self._groups.append((first, rows, number, group))
                first += rows
        base = root if root.is_dir() else root.parent
        super().__init__(root, base, columns, first, declared, scalar, list(files))
        self._cached: tuple[int, tuple[str, ...], Any] | None = None
        self._lock = threading.Lock()

    def _group(self, position: int, columns: tuple[str, ...]) -> tuple[int, Any]:
        for index, (first, rows, number, group) in enumerate(self._groups):
            if first <= position < first + rows:
                if self._cached is None or self._cached[:2] != (index, columns):
                    table = self._files[number].read_row_group(group, columns=list(columns))
                    self._cached = (index, columns, table)
                return first, self._cached[2]
        raise IndexError(position)

    def read(self, start: int, stop: int, columns: Sequence[str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        position = start
        with self._lock:
            while position < stop:
                first, table = self._group(position, tuple(columns))
                take = min(stop, first + table.num_rows) - position
                rows.extend(table.slice(position - first, take).to_pylist())
                position += take
        return rows


class _FolderTable(_Table):
    """An image folder with a metadata.csv / metadata.jsonl sidecar (rows are small: kept in memory)."""

    def __init__(self, root: Path, sidecar: Path) -> None:
        self._rows = _read_sidecar(sidecar)
        columns: list[str] = []
        for row in self._rows:
            columns.extend(c for c in row if c not in columns)
        if "file_name" not in columns:
            raise UsageError(f"{sidecar}: no 'file_name' column naming the images (columns: {columns})")
        scalar = set(columns) - {"file_name"}
        super().__init__(root, root, columns, len(self._rows), set(), scalar, [sidecar])

    def read(self, start: int, stop: int, columns: Sequence[str]) -> list[dict[str, Any]]:
        return [{c: row.get(c) for c in columns} for row in self._rows[start:stop]]


def _read_sidecar(sidecar: Path) -> list[dict[str, Any]]:
    try:
        text = sidecar.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SourceError(str(sidecar), f"cannot read file ({exc.strerror or exc})") from exc
    if sidecar.suffix == ".csv":  # numbers stay numbers, so --where "year>=2022" compares them as such
        return [{k: _csv_value(v) for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise SourceError(str(sidecar), f"line {number} is not JSON ({exc})") from exc
        if not isinstance(row, dict):
            raise SourceError(str(sidecar), f"line {number} is not a JSON object")
        rows.append(row)
    return rows


def _csv_value(text: str | None) -> Any:
    """A CSV cell as the type it spells: an int, a float, true/false, empty as None, else the text itself
    (file names and codes such as "007" keep their text: only plain decimal forms become numbers)."""
    if text is None or text == "":
        return None
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if re.fullmatch(r"-?(0|[1-9][0-9]*)", text.strip()):
        return int(text)
    if re.fullmatch(r"-?(0|[1-9][0-9]*)?\.[0-9]+([eE][-+]?[0-9]+)?", text.strip()):
        return float(text)
    return text


# ---- opening: which table of a layout holds what -----------------------------------------------------------
def _load_saved(root: Path, folder: Path, names: Sequence[str], required: bool) -> _Table | None:
    datasets = _hf_datasets()
    try:
        loaded = datasets.load_from_disk(str(folder))
    except Exception as exc:  # datasets raises FileNotFoundError, ValueError, ArrowInvalid...
        raise SourceError(str(folder), f"not a readable saved dataset ({exc})") from exc
    if isinstance(loaded, datasets.DatasetDict):
        splits = list(loaded)
        chosen = next((s for s in names if s in loaded), None)
        if chosen is None and len(splits) == 1 and required:
            chosen = splits[0]
        if chosen is None:
            if not required:
                return None
            raise UsageError(
                f"{folder} holds splits {', '.join(splits)}: index one of them, e.g. {folder / splits[0]}"
            )
        return _SavedTable(root, folder / chosen, loaded[chosen])
    return _SavedTable(root, folder, loaded)


def _open_table(root: Path, names: Sequence[str] = CORPUS_NAMES, required: bool = True) -> _Table | None:
    """The table of `root` named one of `names` (or, when `required`, its only table)."""
    if root.is_file():
        if root.suffix.lower() != ".parquet":
            raise UsageError(f"{root}: not a dataset (expected a .parquet file or a dataset folder)")
        return _ParquetTable(root, [root])
    if not root.is_dir():
        raise SourceError(str(root), "no such file or folder")
    if _is_saved(root):
        return _load_saved(root, root, names, required)
    for name in names:
        folder = root / name
        if folder.is_dir() and (_is_saved(folder) or _parquet_files(folder)):
            if _is_saved(folder):
                return _load_saved(root, folder, ("test", "train", *names), True)
            return _ParquetTable(root, _parquet_files(folder))
    if not required:
        return None
    sidecar = _sidecar(root)
    if sidecar is not None:
        return _FolderTable(root, sidecar)
    configs = _config_dirs(root)
    if len(configs) > 1:
        raise UsageError(
            f"{root} holds several datasets ({', '.join(c.name for c in configs)}) and none is named "
            f"{' or '.join(names)}: index one of them"
        )
    if len(configs) == 1 and _is_saved(configs[0]):
        return _load_saved(root, configs[0], names, True)
    files = _parquet_files(root)
    if not files:
        raise UsageError(f"{root}: not a dataset (no saved dataset, parquet files or metadata sidecar)")
    return _ParquetTable(root, files)


# ---- columns -----------------------------------------------------------------------------------------------
def _looks_like_image(data: bytes) -> bool:
    return data.startswith(_IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _holds_image_bytes(value: Any) -> bool:
    if isinstance(value, dict):
        value = value.get("bytes")
    return isinstance(value, bytes) and _looks_like_image(value)


def _names_image_file(value: Any) -> bool:
    return isinstance(value, str) and "\n" not in value and Path(value).suffix.lower() in IMAGE_SUFFIXES


def _image_candidates(table: _Table, first: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(image columns: declared or holding image bytes, path columns: strings naming image files)."""
    typed, paths = [], []
    for name in table.columns:
        value = first.get(name)
        if name in table.image_types or _holds_image_bytes(value):
            typed.append(name)
        elif (isinstance(table, _FolderTable) and name == "file_name") or _names_image_file(value):
            paths.append(name)
    return typed, paths


def _choose_image_column(table: _Table, image_column: str | None) -> str:
    if image_column is not None:
        if image_column not in table.columns:
            raise UsageError(
                f"{table.root}: no column {image_column!r} (columns: {', '.join(table.columns)})"
            )
        return image_column
    first = table.read(0, 1, table.columns)[0] if table.num_rows else {}
    typed, paths = _image_candidates(table, first)
    for candidates in (typed, paths):
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            raise UsageError(
                f"{table.root}: several columns hold images ({', '.join(candidates)}): "
                "pick one with --image-column (image_column=...)"
            )
    raise UsageError(
        f"{table.root}: no column holds images (columns: {', '.join(table.columns)}); "
        "name one with --image-column (image_column=...)"
    )


def _column_ids(table: _Table, column: str) -> list[str] | None:
    """The column's values as ids, or None when some are missing or repeated."""
    values = [row[column] for _, row in table.iter_rows([column], batch=4096)]
    if any(v is None or isinstance(v, bytes | dict | list) for v in values):
        return None
    ids = [str(v) for v in values]
    return ids if len(set(ids)) == len(ids) else None


def _choose_ids(table: _Table, id_column: str | None, image_column: str) -> tuple[str | None, list[str]]:
    if id_column is not None:
        if id_column not in table.columns:
            raise UsageError(f"{table.root}: no column {id_column!r} (columns: {', '.join(table.columns)})")
        ids = _column_ids(table, id_column)
        if ids is None:
            raise UsageError(
                f"{table.root}: column {id_column!r} has missing or repeated values; it cannot be the id"
            )
        return id_column, ids
    for name in ID_CANDIDATES:
        if name in table.columns and (name != image_column or isinstance(table, _FolderTable)):
            ids = _column_ids(table, name)
            if ids is not None:
                return name, ids
            log.info(
                "%s: column %r has missing or repeated values; not using it as the row id", table.root, name
            )
    return None, [str(i) for i in range(table.num_rows)]


# ---- views: a table with its image and id columns chosen, cached per dataset -------------------------------
@dataclass
class _View:
    table: _Table
    image_column: str
    id_column: str | None
    ids: list[str]
    positions: dict[str, int]
    signature: tuple[tuple[str, int, int], ...]

    def image_bytes(self, row: dict[str, Any], where: str) -> bytes:
        return _image_bytes(row.get(self.image_column), self.table, where, self.image_column)


_VIEWS: OrderedDict[tuple[str, str | None, str | None], _View] = OrderedDict()
_VIEWS_LOCK = threading.Lock()


def _view(root: Path, image_column: str | None = None, id_column: str | None = None) -> _View:
    key = (str(root), image_column, id_column)
    with _VIEWS_LOCK:
        cached = _VIEWS.get(key)
        if cached is not None and cached.table.signature() == cached.signature:
            _VIEWS.move_to_end(key)
            return cached
    table = _open_table(root)
    assert table is not None  # required=True never returns None
    image = _choose_image_column(table, image_column)
    ids_from, ids = _choose_ids(table, id_column, image)
    view = _View(table, image, ids_from, ids, {v: i for i, v in enumerate(ids)}, table.signature())
    log.info("%s: %d rows, images in %r, ids from %r", root, table.num_rows, image, ids_from or "row number")
    with _VIEWS_LOCK:
        _VIEWS[key] = view
        while len(_VIEWS) > _CACHE_SIZE:
            _VIEWS.popitem(last=False)
    return view


def _image_bytes(value: Any, table: _Table, where: str, column: str) -> bytes:
    if isinstance(value, dict):
        if isinstance(value.get("bytes"), bytes):
            return bytes(value["bytes"])
        value = value.get("path")
    if isinstance(value, bytes):
        return value
    if isinstance(value, str) and value:
        candidate = Path(value).expanduser()
        options = [candidate] if candidate.is_absolute() else [table.base / candidate, table.root / candidate]
        for option in options:
            if option.is_file():
                try:
                    return option.read_bytes()
                except OSError as exc:
                    raise SourceError(where, f"cannot read image {option} ({exc.strerror or exc})") from exc
        raise SourceError(where, f"image file {value!r} (column {column!r}) not found")
    raise SourceError(where, f"no image in column {column!r}")


def _metadata_value(value: Any) -> Any:
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return value if len(value) <= MAX_METADATA_CHARS else value[: MAX_METADATA_CHARS - 1] + "…"
    return None


# ---- public API --------------------------------------------------------------------------------------------
def dataset_documents(
    path: Path,
    image_column: str | None = None,
    id_column: str | None = None,
    errors: list[SourceError] | None = None,
) -> list[Document]:
    """One Document per row of a dataset (see the module's docstring for the layouts).

    `image_column` / `id_column` name the columns when guessing is ambiguous (UsageError says so). Rows whose
    image cannot be read are appended to `errors` when it is given, else raise SourceError.
    """
    root = Path(path).expanduser().resolve()
    view = _view(root, image_column, id_column)
    metadata_columns = [c for c in view.table.columns if c in view.table.scalar and c != view.image_column]
    columns = [view.image_column, *metadata_columns]
    documents = []
    for position, row in view.table.iter_rows(columns):
        row_id = view.ids[position]
        where = f"{root}#{row_id}"
        try:
            data = view.image_bytes(row, where)
        except SourceError as exc:
            if errors is None:
                raise
            errors.append(exc)
            continue
        metadata = {c: v for c in metadata_columns if (v := _metadata_value(row.get(c))) is not None}
        metadata.update(
            dataset=str(root), row_id=row_id, image_column=view.image_column, id_column=view.id_column
        )
        digest = hashlib.sha256(data).hexdigest()
        documents.append(
            Document(path=where, content_hash=digest, kind="dataset", size=len(data), metadata=metadata)
        )
    return documents


def split_dataset_path(path: str) -> tuple[Path, str] | None:
    """`"/data/ds#17"` -> (Path("/data/ds"), "17") when /data/ds exists; None when `path` names no row."""
    position = path.find("#")
    while position != -1:
        base = Path(path[:position])
        if base.exists():
            return base, path[position + 1 :]
        position = path.find("#", position + 1)
    return None


def _locate(document: Document) -> tuple[_View, int]:
    metadata = document.metadata or {}
    if "dataset" in metadata and "row_id" in metadata:
        root, row_id = Path(str(metadata["dataset"])), str(metadata["row_id"])
    else:
        split = split_dataset_path(document.path)
        if split is None:
            raise SourceError(document.path, "not a dataset row (expected DATASET#ROW_ID)")
        root, row_id = split[0].resolve(), split[1]
    view = _view(root, metadata.get("image_column"), metadata.get("id_column"))
    position = view.positions.get(row_id)
    if position is None:
        raise SourceError(document.path, f"the dataset has no row {row_id!r} (changed since it was indexed?)")
    return view, position


def dataset_row_bytes(document: Document) -> bytes:
    """The image bytes of a dataset row Document."""
    view, position = _locate(document)
    row = view.table.read(position, position + 1, [view.image_column])[0]
    return view.image_bytes(row, document.path)


def dataset_row_document(path: str) -> Document:
    """The Document of one row, from its path alone (`"/data/ds#17"`), with columns guessed as by default."""
    split = split_dataset_path(path)
    if split is None:
        raise SourceError(path, "not a dataset row (expected DATASET#ROW_ID)")
    root = split[0].resolve()
    probe = Document(path=f"{root}#{split[1]}", content_hash="", kind="dataset", size=0)
    data = dataset_row_bytes(probe)
    return Document(
        path=probe.path,
        content_hash=hashlib.sha256(data).hexdigest(),
        kind="dataset",
        size=len(data),
        metadata={"dataset": str(root), "row_id": split[1]},
    )


def render_dataset_page(document: Document, image_side: int) -> Image.Image:
    """The row's image, RGB, no longer than 2 * image_side on its long side. Reads that row only."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    from pagelens.sources.images import MAX_IMAGE_PIXELS, _fit

    data = dataset_row_bytes(document)
    if document.content_hash and hashlib.sha256(data).hexdigest() != document.content_hash:
        raise SourceError(document.path, "the row's image changed since it was listed; re-index the dataset")
    PILImage.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data)) as image:
                image.load()
                return _fit(image, image_side)
    except (
        UnidentifiedImageError,
        PILImage.DecompressionBombError,
        PILImage.DecompressionBombWarning,
    ) as exc:
        raise SourceError(document.path, f"not a supported image ({exc.__class__.__name__})") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise SourceError(document.path, f"image cannot be decoded ({exc})") from exc


# ---- ViDoRe / BEIR: corpus, queries and relevance labels ---------------------------------------------------
QUERY_TABLES = ("queries",)
QRELS_TABLES = ("qrels", "relevant_docs")
QUERY_ID_COLUMNS = ("query-id", "query_id", "qid", "_id", "id")
QUERY_TEXT_COLUMNS = ("query", "text", "question")
QREL_CORPUS_COLUMNS = ("corpus-id", "corpus_id", "doc_id", "docid", "doc-id")
QREL_LIST_COLUMNS = ("corpus_ids", "corpus-ids", "doc_ids")
QREL_SCORE_COLUMNS = ("score", "relevance", "grade", "label")


def _pick(table: _Table, names: Sequence[str], what: str) -> str:
    for name in names:
        if name in table.columns:
            return name
    raise UsageError(
        f"{table.root}: no {what} column (tried {', '.join(names)}; columns: {', '.join(table.columns)})"
    )


def _pick_optional(table: _Table, names: Sequence[str]) -> str | None:
    return next((n for n in names if n in table.columns), None)


def _grade(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 1 if value is None else int(float(value))


def load_beir(
    path: Path, id_column: str | None = None
) -> tuple[list[str], dict[str, str], dict[str, dict[str, int]]]:
    """A ViDoRe/BEIR dataset's corpus ids (the row ids `dataset_documents` gives), queries {id: text} and
    qrels {query id: {corpus id: grade}}. Accepts long qrels (query-id, corpus-id, score) and list qrels
    (query_id, corpus_ids, scores); the tables may be splits of one saved DatasetDict or config folders."""
    root = Path(path).expanduser().resolve()
    corpus_ids = _view(root, None, id_column).ids
    queries_table = _open_table(root, QUERY_TABLES, required=False)
    qrels_table = _open_table(root, QRELS_TABLES, required=False)
    if queries_table is None or qrels_table is None:
        raise UsageError(
            f"{root}: not a ViDoRe/BEIR dataset "
            "(needs 'corpus', 'queries' and 'qrels' or 'relevant_docs' tables)"
        )
    qid_column = _pick(queries_table, QUERY_ID_COLUMNS, "query id")
    text_column = _pick(queries_table, QUERY_TEXT_COLUMNS, "query text")
    queries = {
        str(row[qid_column]): str(row[text_column])
        for _, row in queries_table.iter_rows([qid_column, text_column], batch=4096)
    }
    qrels: dict[str, dict[str, int]] = {}
    qrel_qid = _pick(qrels_table, QUERY_ID_COLUMNS, "query id")
    listed = _pick_optional(qrels_table, QREL_LIST_COLUMNS)
    score = _pick_optional(qrels_table, (*QREL_SCORE_COLUMNS, "scores"))
    corpus = listed or _pick(qrels_table, QREL_CORPUS_COLUMNS, "corpus id")
    columns = [qrel_qid, corpus, *([score] if score else [])]
    for _, row in qrels_table.iter_rows(columns, batch=4096):
        judged = qrels.setdefault(str(row[qrel_qid]), {})
        if listed:
            ids = list(row[corpus] or [])
            grades = list(row[score] or []) if score else [1] * len(ids)
            if len(grades) != len(ids):
                raise UsageError(
                    f"{root}: qrels row for query {row[qrel_qid]!r} has {len(ids)} ids, {len(grades)} scores"
                )
            pairs: list[tuple[Any, Any]] = list(zip(ids, grades, strict=True))
        else:
            pairs = [(row[corpus], row[score] if score else 1)]
        for corpus_id, grade in pairs:
            judged[str(corpus_id)] = _grade(grade)
    return corpus_ids, queries, qrels
