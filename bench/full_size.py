"""Full-size, random-weight models of each family, built offline: honest speed without downloading weights.

The layer sizes are those of each family's published checkpoint config (entered by hand below: no download
here, check them against the checkpoint's config.json before quoting a number); the weights are random
(seeded), so the compute per page is a real model's and the vectors mean nothing. Pages are sized by a
real-sized image processor (the resolution and visual-token budget the checkpoints use), so the number of
tokens per page is a real model's too. The tokenizer is the tiny byte-level one (text length is beside the
point for pages; the embedding table has the real vocabulary size).

`parameter_count(family)` builds the model on the meta device (no memory) so that a family too large for
this machine is reported with its size instead of being built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: Where the sizes come from, per family (shown in the results table).
SOURCES = {
    "colqwen2": "Qwen2-VL-2B (vidore/colqwen2-v1.0 base): 28 x 1536 text, 32 x 1280 vision, 768 visual tokens",
    "colqwen2_5": "Qwen2.5-VL-3B (vidore/colqwen2.5-v0.2 base): 36 x 2048 text, 32 x 1280 vision, 768 tokens",
    "colqwen3": "Qwen3-VL-4B (tomoro-colqwen3-embed-4b base): 36 x 2560 text, 24 x 1024 vision",
    "colpali": "PaliGemma-3B-448 (vidore/colpali-v1.3 base): SigLIP-So400m 448 px + Gemma-2B, 1024 tokens",
    "colidefics3": "SmolVLM-256M (vidore/colSmol-256M): SigLIP-B/16-512 + SmolLM2-135M, 512 px tiles",
    "colmodernvbert": "ModernVBERT (colmodernvbert): SigLIP-B/16-512 + ModernBERT-base, 512 px tiles",
    "hf-neomme": "transformers' NeoMMEConfig defaults (not checked against NeoMME-800M-Retriever)",
}


@dataclass
class FullSize:
    """A full-size model's parts: the pagelens backend key, the model class, its config and processor."""

    family: str
    model_class: Any
    config: Any
    processor: Any


def _tokenizer(specials: list[str], **kw: Any) -> Any:
    from pagelens.testing.tiny_models import _byte_level_tokenizer

    return _byte_level_tokenizer(specials, **kw)


def _qwen_processor(processor_cls: Any, patch: int, merge_pixels: int, tokens: int) -> Any:
    from transformers import Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    from pagelens.testing.tiny_models import _QWEN_SPECIALS

    budget = tokens * merge_pixels
    image = Qwen2VLImageProcessor(
        min_pixels=4 * merge_pixels, max_pixels=budget, patch_size=patch, temporal_patch_size=2, merge_size=2
    )
    video = Qwen2VLVideoProcessor(min_pixels=4 * merge_pixels, max_pixels=budget, patch_size=patch)
    tokenizer = _tokenizer(_QWEN_SPECIALS, bos=None, eos="<|im_end|>", pad="<|endoftext|>")
    return processor_cls(image_processor=image, tokenizer=tokenizer, video_processor=video)


def _qwen_ids(processor: Any) -> dict[str, int]:
    from pagelens.testing.tiny_models import _qwen_ids

    return _qwen_ids(processor.tokenizer)


def _colqwen2() -> FullSize:
    from colpali_engine.models.qwen2.colqwen2 import ColQwen2, ColQwen2Processor
    from transformers import Qwen2VLConfig

    processor = _qwen_processor(ColQwen2Processor, 14, 28 * 28, 768)
    text = {
        "vocab_size": 151936,
        "hidden_size": 1536,
        "intermediate_size": 8960,
        "num_hidden_layers": 28,
        "num_attention_heads": 12,
        "num_key_value_heads": 2,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [16, 24, 24]},
        "pad_token_id": processor.tokenizer.pad_token_id,
    }
    vision = {
        "depth": 32,
        "embed_dim": 1280,
        "hidden_size": 1536,
        "num_heads": 16,
        "mlp_ratio": 4,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
    }
    config = Qwen2VLConfig(text_config=text, vision_config=vision, **_qwen_ids(processor))
    return FullSize("colqwen2", ColQwen2, config, processor)


def _colqwen2_5() -> FullSize:
    from colpali_engine.models.qwen2_5.colqwen2_5 import ColQwen2_5, ColQwen2_5_Processor
    from transformers import Qwen2_5_VLConfig

    processor = _qwen_processor(ColQwen2_5_Processor, 14, 28 * 28, 768)
    text = {
        "vocab_size": 151936,
        "hidden_size": 2048,
        "intermediate_size": 11008,
        "num_hidden_layers": 36,
        "num_attention_heads": 16,
        "num_key_value_heads": 2,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [16, 24, 24]},
        "pad_token_id": processor.tokenizer.pad_token_id,
    }
    vision = {
        "depth": 32,
        "hidden_size": 1280,
        "intermediate_size": 3420,
        "num_heads": 16,
        "out_hidden_size": 2048,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 112,
        "fullatt_block_indexes": [7, 15, 23, 31],
    }
    config = Qwen2_5_VLConfig(text_config=text, vision_config=vision, **_qwen_ids(processor))
    return FullSize("colqwen2_5", ColQwen2_5, config, processor)


def _colqwen3() -> FullSize:
    from colpali_engine.models.qwen3.colqwen3 import ColQwen3, ColQwen3Processor
    from transformers import Qwen3VLConfig

    processor = _qwen_processor(ColQwen3Processor, 16, 32 * 32, 1280)
    text = {
        "vocab_size": 151936,
        "hidden_size": 2560,
        "intermediate_size": 9728,
        "num_hidden_layers": 36,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 5e6,
            "mrope_section": [24, 20, 20],
            "mrope_interleaved": True,
        },
        "pad_token_id": processor.tokenizer.pad_token_id,
    }
    vision = {
        "depth": 24,
        "hidden_size": 1024,
        "intermediate_size": 4096,
        "num_heads": 16,
        "patch_size": 16,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "out_hidden_size": 2560,
        "num_position_embeddings": 2304,
        "deepstack_visual_indexes": [5, 11, 17],
    }
    config = Qwen3VLConfig(text_config=text, vision_config=vision, **_qwen_ids(processor))
    return FullSize("colqwen3", ColQwen3, config, processor)


def _colpali() -> FullSize:
    from colpali_engine.models.paligemma.colpali import ColPali, ColPaliProcessor
    from transformers import GemmaConfig, PaliGemmaConfig, SiglipImageProcessor, SiglipVisionConfig

    image = SiglipImageProcessor(
        size={"height": 448, "width": 448}, resample=3, image_mean=[0.5] * 3, image_std=[0.5] * 3
    )
    image.image_seq_length = 1024  # (448 / 14) ** 2
    tokenizer = _tokenizer(
        ["<pad>", "<eos>", "<bos>", "<unk>"], bos="<bos>", eos="<eos>", pad="<pad>", unk="<unk>"
    )
    processor = ColPaliProcessor(image_processor=image, tokenizer=tokenizer)
    vision = SiglipVisionConfig(
        hidden_size=1152,
        intermediate_size=4304,
        num_hidden_layers=27,
        num_attention_heads=16,
        image_size=448,
        patch_size=14,
        projection_dim=2048,
    )
    text = GemmaConfig(
        vocab_size=257216,
        hidden_size=2048,
        intermediate_size=16384,
        num_hidden_layers=18,
        num_attention_heads=8,
        num_key_value_heads=1,
        head_dim=256,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    config = PaliGemmaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=processor.image_token_id,
        vocab_size=257216,
        projection_dim=2048,
        hidden_size=2048,
        pad_token_id=tokenizer.pad_token_id,
    )
    return FullSize("colpali", ColPali, config, processor)


def _smolvlm_image_processor() -> Any:
    from transformers import Idefics3ImageProcessor

    return Idefics3ImageProcessor(
        size={"longest_edge": 2048},
        max_image_size={"longest_edge": 512},
        do_image_splitting=True,
        image_mean=[0.5] * 3,
        image_std=[0.5] * 3,
    )


def _colidefics3() -> FullSize:
    from colpali_engine.models.idefics3.colidefics3 import ColIdefics3, ColIdefics3Processor
    from transformers import Idefics3Config, Idefics3VisionConfig, LlamaConfig

    from pagelens.testing.tiny_models import _ROW_COL

    specials = ["<|endoftext|>", "<|im_start|>", "<end_of_utterance>", "<fake_token_around_image>"]
    tokenizer = _tokenizer(
        [*specials, "<image>", "<global-img>", *_ROW_COL],
        bos="<|im_start|>",
        eos="<end_of_utterance>",
        pad="<|endoftext|>",
    )
    # 512 px tiles, 16 px patches -> 1,024 patches, pixel-shuffled by 4 -> 64 image tokens per tile
    processor = ColIdefics3Processor(
        image_processor=_smolvlm_image_processor(), tokenizer=tokenizer, image_seq_len=64
    )
    vision = Idefics3VisionConfig(
        hidden_size=768,
        intermediate_size=3072,
        num_hidden_layers=12,
        num_attention_heads=12,
        image_size=512,
        patch_size=16,
    )
    text = LlamaConfig(
        vocab_size=49280,
        hidden_size=576,
        intermediate_size=1536,
        num_hidden_layers=30,
        num_attention_heads=9,
        num_key_value_heads=3,
        max_position_embeddings=8192,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    config = Idefics3Config(
        vision_config=vision,
        text_config=text,
        scale_factor=4,
        image_token_id=processor.image_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return FullSize("colidefics3", ColIdefics3, config, processor)


def _colmodernvbert() -> FullSize:
    from colpali_engine.models.modernvbert.colmodernvbert import ColModernVBert, ColModernVBertProcessor
    from transformers import ModernVBertConfig

    from pagelens.testing.tiny_models import _ROW_COL

    specials = ["<|endoftext|>", "<|begin_of_text|>", "<end_of_utterance>", "<fake_token_around_image>"]
    tokenizer = _tokenizer(
        [*specials, "<image>", "<global-img>", *_ROW_COL],
        bos="<|begin_of_text|>",
        eos="<end_of_utterance>",
        pad="<|endoftext|>",
    )
    processor = ColModernVBertProcessor(
        image_processor=_smolvlm_image_processor(), tokenizer=tokenizer, image_seq_len=64
    )
    ids = {
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "cls_token_id": tokenizer.bos_token_id,
        "sep_token_id": tokenizer.eos_token_id,
    }
    text = {
        "model_type": "modernbert",
        "vocab_size": 50368,
        "hidden_size": 768,
        "intermediate_size": 1152,
        "num_hidden_layers": 22,
        "num_attention_heads": 12,
        "max_position_embeddings": 8192,
        **ids,
    }
    vision = {
        "model_type": "siglip_vision_model",
        "hidden_size": 768,
        "intermediate_size": 3072,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "image_size": 512,
        "patch_size": 16,
    }
    config = ModernVBertConfig(
        text_config=text,
        vision_config=vision,
        pixel_shuffle_factor=4,
        image_token_id=processor.image_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return FullSize("colmodernvbert", ColModernVBert, config, processor)


def _hf_neomme() -> FullSize:
    from transformers import NeoMMEConfig, NeoMMEForRetrieval, NeoMMEProcessor
    from transformers.models.neomme.image_processing_neomme import NeoMMEImageProcessor

    from pagelens.testing import tiny_models as tiny

    named = {
        "image_token": "<img>",
        "document_token": "<doc>",
        "row_token": "<row>",
        "query_token": "<query>",
    }
    tokenizer = tiny._byte_level_tokenizer(
        tiny._NEOMME_SPECIALS,
        bos="<bos>",
        eos="<eos>",
        pad="<pad>",
        unk="<unk>",
        extra_init={"mask_token": "<mask>", "extra_special_tokens": named},
    )
    defaults = NeoMMEConfig()
    image = NeoMMEImageProcessor(patch_size=defaults.patch_size)
    processor = NeoMMEProcessor(
        image_processor=image, tokenizer=tokenizer, chat_template=tiny._NEOMME_TEMPLATE
    )
    config = NeoMMEConfig(
        pad_token_id=tokenizer.pad_token_id,
        document_token_id=tokenizer.convert_tokens_to_ids("<doc>"),
        image_token_id=tokenizer.convert_tokens_to_ids("<img>"),
    )
    config.architectures = ["NeoMMEForRetrieval"]
    return FullSize("hf-neomme", NeoMMEForRetrieval, config, processor)


BUILDERS: dict[str, Callable[[], FullSize]] = {
    "colmodernvbert": _colmodernvbert,
    "colidefics3": _colidefics3,
    "hf-neomme": _hf_neomme,
    "colqwen2": _colqwen2,
    "colpali": _colpali,
    "colqwen2_5": _colqwen2_5,
    "colqwen3": _colqwen3,
}
#: Families with no full-size config entered here (and why).
NOT_ENTERED = {
    "colqwen3_5": "full-size Qwen3.5 config not entered (4.5B: above this machine's memory in float32 anyway)",
    "colgemma3": "full-size Gemma 3 config not entered (4B: above this machine's memory in float32 anyway)",
    "colqwen2_5omni": "no tiny or full-size model built (backend registered, untested)",
}


def parameter_count(parts: FullSize) -> int:
    """Parameters of the full-size model, counted on the meta device (nothing allocated)."""
    import torch

    with torch.device("meta"):
        model = parts.model_class(parts.config)
    return sum(p.numel() for p in model.parameters())


def build(parts: FullSize, seed: int = 1234, dtype: Any = None) -> Any:
    """The full-size model with random (seeded) weights in `dtype` (default float32), in eval mode.

    The parameters are created in `dtype` directly (torch's default dtype is switched while the model is
    built), so a 4B model in bfloat16 never holds a float32 copy (8 GiB instead of 16 + 8 at the peak).
    """
    import torch

    dtype = dtype or torch.float32
    torch.manual_seed(seed)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        model = parts.model_class(parts.config)
    finally:
        torch.set_default_dtype(previous)
    return model.to(dtype).eval()
