"""End to end with real (tiny, randomly initialised) models: real PDFs -> pypdfium2 -> model -> Milvus Lite
-> search. The ranking equals an independent brute-force MaxSim computed with the model class and processor
called directly (not through pagelens) and colpali-engine's own scoring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pypdfium2
import pytest

import pagelens
from conftest import REPORT

# pages are stored as bfloat16: the reference scores the direct embeddings rounded the same way (torch's own
# bfloat16 cast); what is left is float32 noise between two runs of the model, well under this
TOLERANCE = 2e-3
QUERIES = ["Where is the table comparing BLEU scores?", "revenue by quarter chart", "attention heads"]
DIRECT = {
    "colqwen2": ("colpali_engine.models", "ColQwen2", "ColQwen2Processor"),
    "colidefics3": ("colpali_engine.models", "ColIdefics3", "ColIdefics3Processor"),
    "hf-colpali": ("transformers", "ColPaliForRetrieval", "ColPaliProcessor"),
}


def _render(pdf: Path, side: int) -> list:  # type: ignore[type-arg]
    document = pypdfium2.PdfDocument(str(pdf))
    images = []
    for page in document:
        width, height = page.get_size()
        images.append(
            page.render(scale=side / max(width, height), may_draw_forms=True).to_pil().convert("RGB")
        )
    return images


def _direct_embeddings(family: str, folder: Path, images: list, queries: list[str]):  # type: ignore[no-untyped-def, type-arg]
    """The model and processor used directly, one input at a time (so no padding is involved)."""
    import importlib

    import torch

    from pagelens.embed.torchvision_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    module_name, model_name, processor_name = DIRECT[family]
    module = importlib.import_module(module_name)
    model = getattr(module, model_name).from_pretrained(folder).eval()
    processor = getattr(module, processor_name).from_pretrained(folder)

    def run(batch):  # type: ignore[no-untyped-def]
        with torch.inference_mode():
            out = model(**batch)
        out = getattr(out, "embeddings", out)[0]
        return out[batch["attention_mask"][0].bool()].float().numpy()

    if module_name == "transformers":
        pages = [run(processor(images=[im], return_tensors="pt")) for im in images]
        qs = [run(processor(text=[q], return_tensors="pt")) for q in queries]
    else:
        pages = [run(processor.process_images([im])) for im in images]
        qs = [run(processor.process_queries([q])) for q in queries]
    return pages, qs


@pytest.mark.parametrize("family", list(DIRECT))
def test_search_ranking_equals_independent_brute_force(
    family: str, tiny_models, samples: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import torch

    from pagelens.embed.torchvision_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    from colpali_engine.utils.processing_utils import BaseVisualRetrieverProcessor

    folder = tiny_models(family)
    pdf = samples / REPORT
    with pagelens.open(tmp_path / "idx", model=str(folder), device="cpu") as index:
        report = index.add([pdf], progress=False)
        assert report.ok and report.pages_added == 6
        side = index.embedder.image_side
        pages, queries = _direct_embeddings(family, folder, _render(pdf, side), QUERIES)
        stored = index.status()
        assert stored.vectors == sum(len(p) for p in pages)  # every patch vector stored, padding removed
        for text, query in zip(QUERIES, queries, strict=True):
            reference = np.array(
                [
                    BaseVisualRetrieverProcessor.score_multi_vector(
                        [torch.from_numpy(query)],
                        [torch.from_numpy(p).to(torch.bfloat16).float()],
                        device="cpu",
                    ).item()
                    for p in pages
                ]
            )
            hits = index.search(text, k=6, mode="visual")  # MaxSim alone (the default fuses the text)
            assert sorted(h.page for h in hits) == [1, 2, 3, 4, 5, 6]
            ours = {h.page: h.score for h in hits}
            for page, score in ours.items():
                assert score == pytest.approx(reference[page - 1], abs=TOLERANCE)
            ranked = [reference[h.page - 1] for h in hits]
            assert all(
                a >= b - TOLERANCE for a, b in zip(ranked, ranked[1:], strict=False)
            )  # best first, up to rounding
            assert hits[0].score == pytest.approx(reference.max(), abs=TOLERANCE)


def test_an_indexed_page_image_finds_itself_first(tiny_models, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pdf = samples / REPORT
    with pagelens.open(tmp_path / "idx", model=str(tiny_models("colqwen2")), device="cpu") as index:
        index.add([pdf], progress=False)
        hits = index.search("chart", k=6)
        page_image = hits[2].image()
        by_image = index.search(page_image, k=6, exact=True)
        assert by_image[0].page == hits[2].page
        similar = index.similar(by_image[0], k=5, exact=True)
        assert [h.page_id for h in similar] == [h.page_id for h in by_image[1:]]
