"""Tiny, randomly initialised ColPali-family checkpoints built offline, for tests.

Every family pagelens supports can be built from hand-made configs (1 layer, hidden sizes 32-64), a
byte-level BPE tokenizer trained with `tokenizers` on a few strings plus the family's special tokens, and an
image processor constructed directly. Each builder saves the processor and the model with `save_pretrained`
into a folder that `pagelens.embed.load_embedder(folder)` (or the model class's own `from_pretrained`) loads
like a real checkpoint.
ColQwen2.5-Omni is the exception: colpali-engine 0.3.18's `ColQwen2_5Omni` cannot be constructed with
transformers 5 (see pagelens/embed/qwen_omni_backend.py), so it has no tiny model.
Most tiny models project to 128-dimensional embeddings, like most real checkpoints; the tiny ColQwen3 projects
to 320 (colpali-engine's ColQwen3 fixes it, as tomoro's checkpoints use) and the tiny ColQwen3.5 to 512 (set
by its config), so that other embedding sizes are tested end to end (`TINY_DIMS`).

Shipped in the package so users can test their own pipelines offline, and so the demo runs where the Hugging
Face Hub cannot be reached:  python -m pagelens.testing.tiny_models colqwen2 FOLDER
Tests use them through the `tiny_models` fixture (tests/tiny_models.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Family names accepted by `build_tiny_model` (the backend keys of `pagelens.embed.registry`): colpali-engine
#: model classes, then transformers-native ones ("hf-...").
TINY_FAMILIES: list[str] = [
    "colpali",
    "colqwen2",
    "colqwen2_5",
    "colidefics3",
    "colqwen3",
    "colqwen3_5",
    "colmodernvbert",
    "colgemma3",
    "hf-colpali",
    "hf-colqwen2",
    "hf-colmodernvbert",
    "hf-neomme",
]

#: Which class `pagelens.embed` should pick for each family, as "module:attr".
EXPECTED_MODEL_CLASS: dict[str, str] = {
    "colpali": "colpali_engine.models.paligemma.colpali:ColPali",
    "colqwen2": "colpali_engine.models.qwen2.colqwen2:ColQwen2",
    "colqwen2_5": "colpali_engine.models.qwen2_5.colqwen2_5:ColQwen2_5",
    "colidefics3": "colpali_engine.models.idefics3.colidefics3:ColIdefics3",
    "colqwen3": "colpali_engine.models.qwen3.colqwen3:ColQwen3",
    "colqwen3_5": "colpali_engine.models.qwen3_5.colqwen3_5:ColQwen3_5",
    "colmodernvbert": "colpali_engine.models.modernvbert.colmodernvbert:ColModernVBert",
    "colgemma3": "colpali_engine.models.gemma3.colgemma3:ColGemma3",
    "hf-colpali": "transformers:ColPaliForRetrieval",
    "hf-colqwen2": "transformers:ColQwen2ForRetrieval",
    "hf-colmodernvbert": "transformers:ColModernVBertForRetrieval",
    "hf-neomme": "transformers:NeoMMEForRetrieval",
}

EMBEDDING_DIM = 128
#: Embedding size of each tiny family.
TINY_DIMS: dict[str, int] = {family: EMBEDDING_DIM for family in TINY_FAMILIES} | {
    "colqwen3": 320,
    "colqwen3_5": 512,
}
_SEED = 1234
_TRAINING_TEXT = [
    "Where is the ColBERT performance table?",
    "Describe the image.",
    "Query: what does the chart on page three show",
    "the quick brown fox jumps over the lazy dog",
    "annual report revenue 2024 figure table caption",
    "User: Assistant: hello world document retrieval",
]


def _byte_level_tokenizer(
    special_tokens: list[str],
    *,
    bos: str | None,
    eos: str | None,
    pad: str,
    unk: str | None = None,
    vocab_size: int = 400,
    add_bos: bool = False,
    extra_init: dict[str, Any] | None = None,
) -> Any:
    """A `PreTrainedTokenizerFast` around a byte-level BPE trained on a few strings plus `special_tokens`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_TRAINING_TEXT, trainer=trainer)
    if add_bos and bos is not None:
        bos_id = tok.token_to_id(bos)
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A $B", special_tokens=[(bos, bos_id)]
        )
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    kwargs: dict[str, Any] = {"tokenizer_object": tok, "pad_token": pad}
    if bos is not None:
        kwargs["bos_token"] = bos
    if eos is not None:
        kwargs["eos_token"] = eos
    if unk is not None:
        kwargs["unk_token"] = unk
    kwargs.update(extra_init or {})
    return PreTrainedTokenizerFast(**kwargs)


# --- PaliGemma (colpali-engine ColPali and transformers ColPaliForRetrieval) ---------------------


def _paligemma_processor(processor_cls: Any) -> Any:
    from transformers import SiglipImageProcessor

    image_processor = SiglipImageProcessor(
        size={"height": 28, "width": 28},
        resample=3,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    image_processor.image_seq_length = 4  # (28 // 14) ** 2 patches
    return processor_cls(image_processor=image_processor, tokenizer=paligemma_tokenizer())


def paligemma_tokenizer() -> Any:
    """PaliGemma's special tokens over the byte-level vocabulary (tiny and full-size models share it)."""
    return _byte_level_tokenizer(
        ["<pad>", "<eos>", "<bos>", "<unk>"], bos="<bos>", eos="<eos>", pad="<pad>", unk="<unk>"
    )


def _paligemma_config(processor: Any) -> Any:
    from transformers import GemmaConfig, PaliGemmaConfig, SiglipVisionConfig

    tokenizer = processor.tokenizer
    vocab_size = len(tokenizer)
    vision = SiglipVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        image_size=28,
        patch_size=14,
        projection_dim=64,
    )
    text = GemmaConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=32,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return PaliGemmaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=processor.image_token_id,
        vocab_size=vocab_size,
        projection_dim=64,
        hidden_size=64,
        pad_token_id=tokenizer.pad_token_id,
    )


def _build_colpali(folder: Path) -> None:
    from colpali_engine.models import ColPali, ColPaliProcessor

    processor = _paligemma_processor(ColPaliProcessor)
    config = _paligemma_config(processor)
    config.architectures = ["ColPali"]
    _save(folder, processor, ColPali, config)


def _build_hf_colpali(folder: Path) -> None:
    from transformers import ColPaliConfig, ColPaliForRetrieval, ColPaliProcessor

    processor = _paligemma_processor(ColPaliProcessor)
    config = ColPaliConfig(vlm_config=_paligemma_config(processor), embedding_dim=EMBEDDING_DIM)
    _save(folder, processor, ColPaliForRetrieval, config)


# --- Qwen2-VL / Qwen2.5-VL (ColQwen2, ColQwen2_5, ColQwen2ForRetrieval) --------------------------

_QWEN_SPECIALS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]


def qwen_tokenizer() -> Any:
    """Qwen-VL's special tokens over the byte-level vocabulary (Qwen2-VL to Qwen3.5; tiny and full-size)."""
    return _byte_level_tokenizer(_QWEN_SPECIALS, bos=None, eos="<|im_end|>", pad="<|endoftext|>")


def _qwen_processor(processor_cls: Any) -> Any:
    from transformers import Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    image_processor = Qwen2VLImageProcessor(
        min_pixels=28 * 28,
        max_pixels=6 * 28 * 28,  # at most 6 merged image tokens (24 vision patches)
        patch_size=14,
        temporal_patch_size=2,
        merge_size=2,
    )
    tokenizer = qwen_tokenizer()
    if processor_cls.__module__.startswith("transformers."):
        return processor_cls(image_processor=image_processor, tokenizer=tokenizer)
    # colpali-engine's processors derive from Qwen2VLProcessor, which requires a video processor.
    video_processor = Qwen2VLVideoProcessor(min_pixels=28 * 28, max_pixels=6 * 28 * 28)
    return processor_cls(
        image_processor=image_processor, tokenizer=tokenizer, video_processor=video_processor
    )


def _qwen_ids(tokenizer: Any) -> dict[str, int]:
    ids = {tok: tokenizer.convert_tokens_to_ids(tok) for tok in _QWEN_SPECIALS}
    return {
        "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
        "vision_end_token_id": ids["<|vision_end|>"],
    }


def _qwen2_vl_config(processor: Any) -> Any:
    from transformers import Qwen2VLConfig

    tokenizer = processor.tokenizer
    text = {
        "vocab_size": len(tokenizer),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 1,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 512,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
        "bos_token_id": None,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    vision = {
        "depth": 1,
        "embed_dim": 32,
        "hidden_size": 64,
        "num_heads": 2,
        "mlp_ratio": 2,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
    }
    return Qwen2VLConfig(text_config=text, vision_config=vision, **_qwen_ids(tokenizer))


def _qwen2_5_vl_config(processor: Any) -> Any:
    from transformers import Qwen2_5_VLConfig

    tokenizer = processor.tokenizer
    text = {
        "vocab_size": len(tokenizer),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 1,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 512,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
        "bos_token_id": None,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    vision = {
        "depth": 1,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_heads": 2,
        "out_hidden_size": 64,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 56,
        "fullatt_block_indexes": [0],
    }
    return Qwen2_5_VLConfig(text_config=text, vision_config=vision, **_qwen_ids(tokenizer))


def _build_colqwen2(folder: Path) -> None:
    from colpali_engine.models import ColQwen2, ColQwen2Processor

    processor = _qwen_processor(ColQwen2Processor)
    config = _qwen2_vl_config(processor)
    config.architectures = ["ColQwen2"]
    _save(folder, processor, ColQwen2, config)


def _build_colqwen2_5(folder: Path) -> None:
    from colpali_engine.models import ColQwen2_5, ColQwen2_5_Processor

    processor = _qwen_processor(ColQwen2_5_Processor)
    config = _qwen2_5_vl_config(processor)
    config.architectures = ["ColQwen2_5"]
    _save(folder, processor, ColQwen2_5, config)


def _build_hf_colqwen2(folder: Path) -> None:
    from transformers import ColQwen2Config, ColQwen2ForRetrieval, ColQwen2Processor

    processor = _qwen_processor(ColQwen2Processor)
    config = ColQwen2Config(vlm_config=_qwen2_vl_config(processor), embedding_dim=EMBEDDING_DIM)
    _save(folder, processor, ColQwen2ForRetrieval, config)


# --- Idefics3 (ColIdefics3, the ColSmol family) --------------------------------------------------


def idefics3_tokenizer() -> Any:
    """Idefics3's (SmolVLM's) special tokens over the byte-level vocabulary (tiny and full-size models)."""
    specials = ["<|endoftext|>", "<|im_start|>", "<end_of_utterance>", "<fake_token_around_image>"]
    return _byte_level_tokenizer(
        [*specials, "<image>", "<global-img>", *_ROW_COL],
        bos="<|im_start|>",
        eos="<end_of_utterance>",
        pad="<|endoftext|>",
    )


def _build_colidefics3(folder: Path) -> None:
    from colpali_engine.models import ColIdefics3, ColIdefics3Processor
    from transformers import Idefics3Config, Idefics3ImageProcessor, Idefics3VisionConfig, LlamaConfig

    tokenizer = idefics3_tokenizer()
    image_processor = Idefics3ImageProcessor(
        size={"longest_edge": 64},
        max_image_size={"longest_edge": 32},
        do_image_splitting=True,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    # 32 px tiles, 16 px patches -> 4 patches, pixel-shuffled by scale_factor 2 -> 1 image token per tile.
    processor = ColIdefics3Processor(image_processor=image_processor, tokenizer=tokenizer, image_seq_len=1)
    vision = Idefics3VisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        image_size=32,
        patch_size=16,
    )
    text = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    config = Idefics3Config(
        vision_config=vision,
        text_config=text,
        scale_factor=2,
        image_token_id=processor.image_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    config.architectures = ["ColIdefics3"]
    _save(folder, processor, ColIdefics3, config)


# --- Qwen3-VL / Qwen3.5 (ColQwen3, ColQwen3_5) --------------------------------------------------------


def _qwen3_processor(processor_cls: Any) -> Any:
    """Qwen3-VL's processing: 16 px patches merged 2 x 2, so one image token covers 32 x 32 pixels."""
    from transformers import Qwen2VLImageProcessor
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

    image_processor = Qwen2VLImageProcessor(
        min_pixels=32 * 32, max_pixels=6 * 32 * 32, patch_size=16, temporal_patch_size=2, merge_size=2
    )
    video_processor = Qwen3VLVideoProcessor(
        size={"shortest_edge": 32 * 32, "longest_edge": 6 * 32 * 32}, patch_size=16
    )
    tokenizer = qwen_tokenizer()
    return processor_cls(
        image_processor=image_processor, tokenizer=tokenizer, video_processor=video_processor
    )


def _qwen3_text(tokenizer: Any, **extra: Any) -> dict[str, Any]:
    return {
        "vocab_size": len(tokenizer),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 1,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "max_position_embeddings": 512,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 10000.0,
            "mrope_section": [2, 3, 3],
            "mrope_interleaved": True,
        },
        "pad_token_id": tokenizer.pad_token_id,
        **extra,
    }


_QWEN3_VISION: dict[str, Any] = {
    "depth": 1,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_heads": 2,
    "patch_size": 16,
    "spatial_merge_size": 2,
    "temporal_patch_size": 2,
    "out_hidden_size": 64,
    "num_position_embeddings": 64,
}


def _build_colqwen3(folder: Path) -> None:
    from colpali_engine.models.qwen3.colqwen3 import ColQwen3, ColQwen3Processor
    from transformers import Qwen3VLConfig

    processor = _qwen3_processor(ColQwen3Processor)
    vision = dict(_QWEN3_VISION, deepstack_visual_indexes=[0])
    config = Qwen3VLConfig(
        text_config=_qwen3_text(processor.tokenizer), vision_config=vision, **_qwen_ids(processor.tokenizer)
    )
    config.architectures = ["ColQwen3"]  # ColQwen3 always projects to 320 dimensions
    _save(folder, processor, ColQwen3, config)


def _build_colqwen3_5(folder: Path) -> None:
    from colpali_engine.models.qwen3_5.colqwen3_5 import ColQwen3_5, ColQwen3_5Processor
    from transformers import Qwen3_5Config

    processor = _qwen3_processor(ColQwen3_5Processor)
    # one Gated DeltaNet (linear attention) layer and one full-attention layer, as Qwen3.5 interleaves them
    text = _qwen3_text(
        processor.tokenizer,
        num_hidden_layers=2,
        layer_types=["linear_attention", "full_attention"],
        linear_key_head_dim=16,
        linear_value_head_dim=16,
        linear_num_key_heads=2,
        linear_num_value_heads=4,
    )
    text["rope_parameters"] = dict(text["rope_parameters"], partial_rotary_factor=1.0)
    config = Qwen3_5Config(text_config=text, vision_config=_QWEN3_VISION, **_qwen_ids(processor.tokenizer))
    config.dim = TINY_DIMS["colqwen3_5"]  # ColQwen3_5 reads its projection size from config.dim
    config.architectures = ["ColQwen3_5"]
    _save(folder, processor, ColQwen3_5, config)


# --- ModernVBert (ColModernVBert, ColModernVBertForRetrieval) ------------------------------------------

_ROW_COL = [f"<row_{i + 1}_col_{j + 1}>" for i in range(6) for j in range(6)]


def modernvbert_tokenizer() -> Any:
    """ModernVBert's special tokens over the byte-level vocabulary (tiny and full-size models)."""
    specials = ["<|endoftext|>", "<|begin_of_text|>", "<end_of_utterance>", "<fake_token_around_image>"]
    return _byte_level_tokenizer(
        [*specials, "<image>", "<global-img>", *_ROW_COL],
        bos="<|begin_of_text|>",
        eos="<end_of_utterance>",
        pad="<|endoftext|>",
    )


def _modernvbert_parts() -> tuple[Any, Any]:
    from transformers import Idefics3ImageProcessor

    tokenizer = modernvbert_tokenizer()
    image_processor = Idefics3ImageProcessor(
        size={"longest_edge": 64},
        max_image_size={"longest_edge": 32},
        do_image_splitting=True,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    return tokenizer, image_processor


def _modernvbert_config(tokenizer: Any, image_token_id: int) -> Any:
    from transformers import ModernVBertConfig

    text = {
        "model_type": "modernbert",
        "vocab_size": len(tokenizer),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 1,
        "num_attention_heads": 4,
        "max_position_embeddings": 512,
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "cls_token_id": tokenizer.bos_token_id,
        "sep_token_id": tokenizer.eos_token_id,
    }
    vision = {
        "model_type": "siglip_vision_model",
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "image_size": 32,
        "patch_size": 16,
    }
    # 32 px tiles, 16 px patches -> 4 patches, pixel-shuffled by 2 -> 1 image token per tile (image_seq_len=1)
    return ModernVBertConfig(
        text_config=text,
        vision_config=vision,
        pixel_shuffle_factor=2,
        image_token_id=image_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def _build_colmodernvbert(folder: Path) -> None:
    from colpali_engine.models.modernvbert.colmodernvbert import ColModernVBert, ColModernVBertProcessor

    tokenizer, image_processor = _modernvbert_parts()
    processor = ColModernVBertProcessor(image_processor=image_processor, tokenizer=tokenizer, image_seq_len=1)
    config = _modernvbert_config(tokenizer, processor.image_token_id)
    config.architectures = ["ColModernVBert"]
    _save(folder, processor, ColModernVBert, config)


def _build_hf_colmodernvbert(folder: Path) -> None:
    from transformers import ColModernVBertConfig, ColModernVBertForRetrieval, ColModernVBertProcessor

    tokenizer, image_processor = _modernvbert_parts()
    processor = ColModernVBertProcessor(image_processor=image_processor, tokenizer=tokenizer, image_seq_len=1)
    config = ColModernVBertConfig(
        vlm_config=_modernvbert_config(tokenizer, processor.image_token_id), embedding_dim=EMBEDDING_DIM
    )
    _save(folder, processor, ColModernVBertForRetrieval, config)


# --- Gemma 3 (ColGemma3) -------------------------------------------------------------------------------

#: A minimal Gemma-style chat template: ColGemmaProcessor3 formats pages and queries through it.
_GEMMA_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<start_of_turn>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for item in message['content'] %}{% if item['type'] == 'image' %}<start_of_image>"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}{% endfor %}{% endif %}<end_of_turn>\n"
    "{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


def gemma3_tokenizer() -> Any:
    """Gemma 3's special tokens and chat template over the byte-level vocabulary (tiny and full-size models)."""
    specials = [
        "<pad>",
        "<eos>",
        "<bos>",
        "<unk>",
        "<start_of_turn>",
        "<end_of_turn>",
        "<start_of_image>",
        "<end_of_image>",
        "<image_soft_token>",
    ]
    named = {
        "boi_token": "<start_of_image>",
        "eoi_token": "<end_of_image>",
        "image_token": "<image_soft_token>",
    }
    return _byte_level_tokenizer(
        specials,
        bos="<bos>",
        eos="<eos>",
        pad="<pad>",
        unk="<unk>",
        extra_init={"extra_special_tokens": named, "chat_template": _GEMMA_TEMPLATE},
    )


def _build_colgemma3(folder: Path) -> None:
    from colpali_engine.models.gemma3.colgemma3 import ColGemma3, ColGemmaProcessor3
    from transformers import Gemma3Config, Gemma3ImageProcessor

    tokenizer = gemma3_tokenizer()
    image_processor = Gemma3ImageProcessor(
        size={"height": 28, "width": 28}, image_mean=[0.5] * 3, image_std=[0.5] * 3, do_pan_and_scan=False
    )
    # 28 px, 14 px patches -> 2 x 2 patches -> 4 image tokens (mm_tokens_per_image)
    processor = ColGemmaProcessor3(
        image_processor=image_processor,
        tokenizer=tokenizer,
        image_seq_length=4,
        chat_template=_GEMMA_TEMPLATE,
    )
    text = {
        "model_type": "gemma3_text",
        "vocab_size": len(tokenizer),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "head_dim": 32,
        "max_position_embeddings": 512,
        "sliding_window": 64,
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
    }
    vision = {
        "model_type": "siglip_vision_model",
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "image_size": 28,
        "patch_size": 14,
    }
    config = Gemma3Config(
        text_config=text,
        vision_config=vision,
        mm_tokens_per_image=4,
        boi_token_index=tokenizer.convert_tokens_to_ids("<start_of_image>"),
        eoi_token_index=tokenizer.convert_tokens_to_ids("<end_of_image>"),
        image_token_index=tokenizer.convert_tokens_to_ids("<image_soft_token>"),
    )
    config.architectures = ["ColGemma3"]
    _save(folder, processor, ColGemma3, config)


# --- NeoMME (NeoMMEForRetrieval) ------------------------------------------------------------------------

_NEOMME_SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>", "<mask>", "<doc>", "<img>", "<row>", "<query>"]
#: A retrieval template in the shape NeoMMEProcessor checks: a document page is exactly "<doc><img>" (the
#: processor expands <img> into the patch grid), a query starts with its task marker and ends with mask
#: tokens (query expansion). Real checkpoints ship their own template; this one is for the tiny model only.
_NEOMME_TEMPLATE = (
    "{% for message in messages %}{% for item in message['content'] %}"
    "{% if task == 'document' %}<doc>{% if item['type'] == 'image' %}<img>{% else %}{{ item['text'] }}{% endif %}"
    "{% else %}<query>{{ item['text'] }}<mask><mask><mask><mask>{% endif %}{% endfor %}{% endfor %}"
)


def neomme_tokenizer() -> Any:
    """NeoMME's special tokens over the byte-level vocabulary (tiny and full-size models)."""
    named = {
        "image_token": "<img>",
        "document_token": "<doc>",
        "row_token": "<row>",
        "query_token": "<query>",
    }
    return _byte_level_tokenizer(
        _NEOMME_SPECIALS,
        bos="<bos>",
        eos="<eos>",
        pad="<pad>",
        unk="<unk>",
        extra_init={"mask_token": "<mask>", "extra_special_tokens": named},
    )


def _build_hf_neomme(folder: Path) -> None:
    from transformers import NeoMMEConfig, NeoMMEForRetrieval, NeoMMEProcessor
    from transformers.models.neomme.image_processing_neomme import NeoMMEImageProcessor

    tokenizer = neomme_tokenizer()
    image_processor = NeoMMEImageProcessor(patch_size=16, max_side=64)
    processor = NeoMMEProcessor(
        image_processor=image_processor, tokenizer=tokenizer, chat_template=_NEOMME_TEMPLATE
    )
    config = NeoMMEConfig(
        vocab_size=len(tokenizer),
        embedding_rank=32,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=512,
        sliding_window=64,
        patch_size=16,
        embedding_dim=EMBEDDING_DIM,
        pad_token_id=tokenizer.pad_token_id,
        document_token_id=tokenizer.convert_tokens_to_ids("<doc>"),
        image_token_id=tokenizer.convert_tokens_to_ids("<img>"),
    )
    config.architectures = ["NeoMMEForRetrieval"]
    _save(folder, processor, NeoMMEForRetrieval, config)


_BUILDERS: dict[str, Callable[[Path], None]] = {
    "colpali": _build_colpali,
    "colqwen2": _build_colqwen2,
    "colqwen2_5": _build_colqwen2_5,
    "colidefics3": _build_colidefics3,
    "colqwen3": _build_colqwen3,
    "colqwen3_5": _build_colqwen3_5,
    "colmodernvbert": _build_colmodernvbert,
    "colgemma3": _build_colgemma3,
    "hf-colpali": _build_hf_colpali,
    "hf-colqwen2": _build_hf_colqwen2,
    "hf-colmodernvbert": _build_hf_colmodernvbert,
    "hf-neomme": _build_hf_neomme,
}


def _save(folder: Path, processor: Any, model_class: Any, config: Any) -> None:
    """A randomly initialised model from `config` (seeded: the same weights every time), saved with its processor."""
    import torch

    torch.manual_seed(_SEED)
    model = model_class(config)
    processor.save_pretrained(folder)
    model.save_pretrained(folder)


def build_tiny_model(family: str, folder: Path) -> Path:
    """Build the tiny checkpoint of `family` (one of `TINY_FAMILIES`) into `folder` and return the folder."""
    if family not in _BUILDERS:
        raise ValueError(f"unknown tiny family {family!r}; choose from {TINY_FAMILIES}")
    from pagelens.embed.torchvision_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _BUILDERS[family](folder)
    return folder


def write_config(folder: Path, config: dict[str, Any], filename: str = "config.json") -> Path:
    """Write a hand-made JSON config file into `folder` (for backend-selection tests)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / filename).write_text(json.dumps(config))
    return folder


def build_tiny_adapter(base_folder: Path, folder: Path) -> Path:
    """A PEFT LoRA adapter (adapter_config.json, no config.json) over the tiny colpali-engine checkpoint in
    `base_folder`, with non-zero LoRA weights so that it changes the outputs. Processor files are copied."""
    import torch
    from peft import LoraConfig, get_peft_model

    from pagelens.embed.registry import BACKENDS, import_object

    config = json.loads((Path(base_folder) / "config.json").read_text())
    key = next(k for k, spec in BACKENDS.items() if config["architectures"][0] in spec.architectures)
    model_cls = import_object(EXPECTED_MODEL_CLASS[key])
    model = model_cls.from_pretrained(base_folder)
    lora = LoraConfig(
        r=4,
        lora_alpha=8,
        target_modules=r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj)$",
        modules_to_save=["custom_text_proj"] if hasattr(model, "custom_text_proj") else None,
    )
    torch.manual_seed(_SEED + 1)
    peft_model = get_peft_model(model, lora)
    for name, param in peft_model.named_parameters():
        if "lora_B" in name:  # LoRA starts as a no-op (B = 0); make it do something
            torch.nn.init.normal_(param, std=0.5)
    folder = Path(folder)
    peft_model.save_pretrained(str(folder))
    for file in Path(base_folder).iterdir():
        if file.name.startswith(
            ("tokenizer", "processor", "preprocessor", "special_tokens", "chat_template")
        ):
            (folder / file.name).write_bytes(file.read_bytes())
    return folder


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        description="Build a tiny, randomly initialised ColPali-family checkpoint."
    )
    parser.add_argument("family", choices=TINY_FAMILIES)
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    print(build_tiny_model(args.family, args.folder))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
