"""Datasets as sources: a ViDoRe export saved with `datasets.save_to_disk`, parquet files and an image folder
with a metadata sidecar, each row one page; rows are read one at a time."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import REPORT
from pagelens.errors import SourceError, UsageError
from pagelens.sources import Document, iter_pages
from pagelens.sources.datasets import (
    dataset_documents,
    dataset_row_document,
    is_dataset,
    load_beir,
    render_dataset_page,
)

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


@pytest.fixture(scope="module")
def vidore(corpus: Path) -> Path:
    """The real ViDoRe sample (corpus tier): missing is a failure."""
    path = corpus / "vidore-arxivqa-sample"
    assert path.is_dir(), f"the ViDoRe sample is not in the shared corpus ({path})"
    return path


@pytest.fixture(scope="module")
def page_pngs(samples: Path) -> list[bytes]:
    """Four page images (PNG bytes): the first pages of the generated annual report."""
    out = []
    for page in iter_pages(Document.from_path(samples / REPORT), 400):
        buffer = io.BytesIO()
        page.image.save(buffer, format="PNG")
        out.append(buffer.getvalue())
    return out[:4]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _image_struct(data: list[bytes]) -> object:
    """A column like Hugging Face's Image feature in parquet: struct<bytes, path>."""
    return pa.array(
        [{"bytes": b, "path": None} for b in data],
        type=pa.struct([("bytes", pa.binary()), ("path", pa.string())]),
    )


def test_vidore_sample_rows_are_documents_with_stable_hashes(vidore: Path) -> None:
    assert is_dataset(vidore)
    documents = dataset_documents(vidore)
    assert len(documents) == 10
    assert len({d.content_hash for d in documents}) == 10
    root = str(vidore.resolve())
    for number, document in enumerate(documents):
        image = vidore / "images" / f"{number}.png"
        assert document.path == f"{root}#{number}"
        assert document.kind == "dataset"
        assert document.content_hash == _sha(image.read_bytes())
        assert document.size == image.stat().st_size
        assert document.metadata["corpus_id"] == number
        assert document.metadata["dataset"] == root and document.metadata["row_id"] == str(number)
        assert "image_path" not in document.metadata  # the image column is not metadata
    again = dataset_documents(vidore)
    assert [d.content_hash for d in again] == [d.content_hash for d in documents]


def test_vidore_sample_renders_one_row_and_reads_beir_labels(vidore: Path) -> None:
    documents = dataset_documents(vidore)
    image = render_dataset_page(documents[3], image_side=256)
    assert image.mode == "RGB" and max(image.size) <= 512
    with Image.open(vidore / "images" / "3.png") as original:
        assert abs(image.width / image.height - original.width / original.height) < 0.01
    # from the path alone (what a search hit has)
    row = dataset_row_document(documents[5].path)
    assert row.content_hash == documents[5].content_hash
    assert render_dataset_page(row, 256).size == render_dataset_page(documents[5], 256).size

    corpus_ids, queries, qrels = load_beir(vidore)
    assert corpus_ids == [str(i) for i in range(10)]
    assert set(queries) == {"q_0", "q_1"} and all(queries.values())
    assert qrels == {"q_0": {"0": 1}, "q_1": {"1": 1}}


def test_parquet_file_with_real_page_images(tmp_path: Path, page_pngs: list[bytes]) -> None:
    table = pa.table(
        {
            "doc_id": ["a", "b", "c", "d"],
            "image": _image_struct(page_pngs),
            "title": ["one", "two", "three", "four"],
            "year": [2020, 2021, 2022, 2023],
            "score": [0.5, 1.5, float("nan"), 2.0],
            "tags": [["x"], [], ["y", "z"], []],
        }
    )
    path = tmp_path / "pages.parquet"
    pq.write_table(table, path, row_group_size=2)  # several row groups: rows come from the right one
    assert is_dataset(path)
    documents = dataset_documents(path)
    assert [d.path for d in documents] == [f"{path.resolve()}#{i}" for i in "abcd"]
    assert [d.content_hash for d in documents] == [_sha(b) for b in page_pngs]
    assert documents[1].metadata == {
        "doc_id": "b",
        "title": "two",
        "year": 2021,
        "score": 1.5,
        "dataset": str(path.resolve()),
        "row_id": "b",
        "image_column": "image",
        "id_column": "doc_id",
    }
    assert "score" not in documents[2].metadata  # NaN is not JSON
    with Image.open(io.BytesIO(page_pngs[3])) as original:
        expected = original.size
    rendered = render_dataset_page(documents[3], image_side=max(expected))
    assert rendered.size == expected and rendered.mode == "RGB"


def test_parquet_folder_plain_binary_column_and_row_number_ids(
    tmp_path: Path, page_pngs: list[bytes]
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    for number, chunk in enumerate((page_pngs[:2], page_pngs[2:])):
        pq.write_table(
            pa.table({"png": pa.array(chunk, pa.binary()), "n": [1, 1]}), folder / f"part-{number}.parquet"
        )
    assert is_dataset(folder)
    documents = dataset_documents(folder)
    assert [d.metadata["row_id"] for d in documents] == ["0", "1", "2", "3"]
    assert [d.content_hash for d in documents] == [_sha(b) for b in page_pngs]
    assert render_dataset_page(documents[2], 128).mode == "RGB"


def test_image_folder_with_metadata_csv(tmp_path: Path, page_pngs: list[bytes]) -> None:
    folder = tmp_path / "scans"
    (folder / "sub").mkdir(parents=True)
    names = ["first.png", "sub/second.png", "third.png"]
    for number, name in enumerate(names):
        (folder / name).write_bytes(page_pngs[number])
    with (folder / "metadata.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file_name", "caption"])
        writer.writerows([[name, f"caption {i}"] for i, name in enumerate(names)])
    assert is_dataset(folder)
    documents = dataset_documents(folder)
    assert [d.metadata["row_id"] for d in documents] == names
    assert [d.metadata["caption"] for d in documents] == ["caption 0", "caption 1", "caption 2"]
    assert documents[1].content_hash == _sha((folder / "sub" / "second.png").read_bytes())
    assert render_dataset_page(documents[1], 128).size[0] > 0


def test_image_folder_jsonl_missing_image_is_reported_not_fatal(
    tmp_path: Path, page_pngs: list[bytes]
) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    (folder / "a.png").write_bytes(page_pngs[0])
    lines = [{"file_name": "a.png", "id": 7, "pages": 1}, {"file_name": "gone.png", "id": 8, "pages": 2}]
    (folder / "metadata.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    errors: list[SourceError] = []
    documents = dataset_documents(folder, errors=errors)
    assert [d.path for d in documents] == [f"{folder.resolve()}#7"]
    assert documents[0].metadata["pages"] == 1
    assert len(errors) == 1 and errors[0].path == f"{folder.resolve()}#8" and "gone.png" in errors[0].reason
    with pytest.raises(SourceError, match="gone.png"):
        dataset_documents(folder)


def test_ambiguous_image_column_names_the_candidates(tmp_path: Path, page_pngs: list[bytes]) -> None:
    path = tmp_path / "two.parquet"
    table = pa.table({"front": _image_struct(page_pngs[:2]), "back": pa.array(page_pngs[2:], pa.binary())})
    pq.write_table(table, path)
    with pytest.raises(UsageError, match="front, back"):
        dataset_documents(path)
    documents = dataset_documents(path, image_column="back")
    assert [d.content_hash for d in documents] == [_sha(b) for b in page_pngs[2:]]
    assert documents[0].metadata["image_column"] == "back"
    assert render_dataset_page(documents[0], 64).mode == "RGB"  # renders with the chosen column
    with pytest.raises(UsageError, match="no column 'nope'"):
        dataset_documents(path, image_column="nope")
    with pytest.raises(UsageError, match="no column holds images"):
        pq.write_table(pa.table({"text": ["a", "b"]}), tmp_path / "text.parquet")
        dataset_documents(tmp_path / "text.parquet")


def test_id_column_with_repeats_falls_back_to_row_numbers_unless_named(
    tmp_path: Path, page_pngs: list[bytes]
) -> None:
    path = tmp_path / "dup.parquet"
    pq.write_table(pa.table({"id": ["x", "x"], "image": _image_struct(page_pngs[:2])}), path)
    assert [d.metadata["row_id"] for d in dataset_documents(path)] == ["0", "1"]
    with pytest.raises(UsageError, match="repeated"):
        dataset_documents(path, id_column="id")


def test_saved_dataset_with_image_feature(tmp_path: Path, page_pngs: list[bytes]) -> None:
    datasets = pytest.importorskip("datasets")
    features = datasets.Features({"id": datasets.Value("string"), "image": datasets.Image()})
    rows = {"id": ["p1", "p2", "p3"], "image": [{"bytes": b, "path": None} for b in page_pngs[:3]]}
    folder = tmp_path / "saved"
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(rows, features=features)}).save_to_disk(
        str(folder)
    )
    assert is_dataset(folder) and is_dataset(folder / "train")
    documents = dataset_documents(folder)  # the only split
    assert [d.metadata["row_id"] for d in documents] == ["p1", "p2", "p3"]
    assert [d.content_hash for d in documents] == [_sha(b) for b in page_pngs[:3]]
    assert render_dataset_page(documents[2], 64).mode == "RGB"


def test_ten_thousand_rows_read_in_batches(tmp_path: Path) -> None:
    """10k small images: listing hashes every row in batches; rendering reads one row group."""
    images = []
    for number in range(10_000):
        buffer = io.BytesIO()
        Image.new("RGB", (4, 4), (number % 256, number // 256, 7)).save(buffer, "PNG")
        images.append(buffer.getvalue())
    path = tmp_path / "big.parquet"
    pq.write_table(
        pa.table({"id": [f"r{i}" for i in range(10_000)], "image": _image_struct(images)}),
        path,
        row_group_size=500,
    )
    documents = dataset_documents(path)
    assert len(documents) == 10_000 and len({d.content_hash for d in documents}) == 10_000
    last = render_dataset_page(documents[-1], 8)
    assert last.getpixel((0, 0)) == (9_999 % 256, 9_999 // 256, 7)


def test_not_datasets(tmp_path: Path, samples: Path) -> None:
    assert not is_dataset(samples)  # a folder of PDFs and images
    assert not is_dataset(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("hello")
    assert not is_dataset(tmp_path / "notes.txt")


def test_metadata_csv_values_keep_their_types(tmp_path: Path, page_pngs: list[bytes], fake_index) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "scans"
    folder.mkdir()
    rows = [["a.png", "2021", "0.5", "007"], ["b.png", "2022", "1.25", "008"], ["c.png", "2024", "", "009"]]
    for number, row in enumerate(rows):
        (folder / row[0]).write_bytes(page_pngs[number])
    with (folder / "metadata.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file_name", "year", "score", "code"])
        writer.writerows(rows)
    documents = dataset_documents(folder)
    assert [(d.metadata["year"], d.metadata.get("score"), d.metadata["code"]) for d in documents] == [
        (2021, 0.5, "007"),
        (2022, 1.25, "008"),
        (2024, None, "009"),
    ]
    index = fake_index()
    assert index.add([folder], progress=False).ok
    query = np.ones((3, 128), dtype=np.float32) / np.sqrt(128)
    recent = index.search_embedding(query, k=10, filter={"metadata": {"year": {">=": 2022}}})
    assert sorted(h.metadata["year"] for h in recent) == [2022, 2024]  # compared as numbers, not text
