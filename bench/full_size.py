"""Full-size, random-weight models of each family, built offline: honest speed without downloading weights.

The layer sizes are those of each family's published checkpoint config, entered by hand below (no download
here). Each builder says where its numbers were read (`CHECKED` below, and a comment per config): a copy of
the checkpoint's config.json (or its base model's) found in public Hugging Face pages, or "not verified"
where none was found. The weights are random
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
    "colqwen3": "Qwen3-VL-4B (tomoro-colqwen3-embed-4b base): 36 x 2560 text, 24 x 1024 vision, 1280 tokens",
    "colqwen3_5": "Qwen3.5-4B layout (athrael-soju/colqwen3.5-4.5B-v3 base, not read): 32 x 2560 hybrid text",
    "colpali": "PaliGemma-3B-448 (vidore/colpali-v1.3 base): SigLIP-So400m 448 px + Gemma-2B, 1024 tokens",
    "colgemma3": "Gemma 3 4B: SigLIP-So400m 896 px + 34 x 2560 Gemma 3 text, 256 image tokens",
    "colidefics3": "SmolVLM-256M (vidore/colSmol-256M): SigLIP-B/16-512 + SmolLM2-135M, 512 px tiles",
    "colmodernvbert": "ModernVBERT (colmodernvbert): SigLIP-B/16-512 + ModernBERT-base, 512 px tiles",
    "hf-neomme": "transformers' NeoMMEConfig defaults = NeoMME-260M (not the 800M retriever's sizes)",
}

#: What each config was checked against (issue 14). "verified": every layer size above matches a copy of the
#: checkpoint's (or its base model's) config.json read on a public page; "partly": the parts named match,
#: the rest is not verified; "not verified": no config.json of that checkpoint was found.
CHECKED = {
    "colqwen2": "verified: text sizes = vidore/colqwen2-base's config.json (copy at "
    "https://huggingface.co/michaelfeil/colqwen2-v0.1/blame/abd4498fb656e0b2be9fac824c1a91ebe12e662b/config.json"
    " and Qwen/Qwen2-VL-2B-Instruct's at https://huggingface.co/onnx-community/Qwen2-VL-2B-Instruct/blob/"
    "214aa9f9bbb9fa4358067a0b7eab6c0587a6ead9/config.json); vision: those files set only hidden_size 1536, "
    "the rest are transformers' Qwen2VLVisionConfig defaults (depth 32, embed_dim 1280, mlp_ratio 4, 16 heads, "
    "patch 14), as in transformers/models/qwen2_vl/configuration_qwen2_vl.py; the 768-token page budget (the checkpoint's preprocessor max_pixels; "
    "colpali-engine's processor only reads it): not verified",
    "colqwen2_5": "verified: Qwen/Qwen2.5-VL-3B-Instruct config.json (copy at "
    "https://huggingface.co/dahwinsingularity/vllm2/blame/main/config.json, _name_or_path "
    "Qwen/Qwen2.5-VL-3B-Instruct; the same numbers in Qwen2.5-VL-3B copies in public GitHub repositories): "
    "text 36 x 2048, 11008 MLP, 16/2 heads, vocab 151936; vision depth 32, 1280, 3420 MLP, 16 heads, "
    "out 2048, window 112, full attention at 7/15/23/31. vidore/colqwen2.5-v0.2's adapter names "
    "vidore/colqwen2.5-base (https://huggingface.co/vidore/colqwen2.5-v0.1/commit/e4c4fea618f3128d576efca8b4f"
    "165ff2fbaff12 for v0.1), whose own config.json was not read; 768 tokens: not verified for v0.2",
    "colqwen3": "verified for the base: Qwen/Qwen3-VL-4B-Instruct config.json (copy at "
    "https://huggingface.co/TechCarbasa/MyModels/commit/400bbbf998ac875feb9b2182d409b81aa3601ac8): text 36 x "
    "2560, 9728 MLP, 32/8 heads, head_dim 128, rope_theta 5e6, mrope [24, 20, 20] interleaved; vision depth 24,"
    " 1024, 4096 MLP, 16 heads, patch 16, out 2560, 2304 positions, deepstack 5/11/17. Tomoro's card says the "
    "model merges Qwen3-VL-4B-Instruct with Qwen3-Embedding-4B (https://huggingface.co/Johnny667/tomoro-"
    "colqwen3-embed-4b, a copy of the card); its own config.json and the 1280-token page budget: not verified",
    "colqwen3_5": "not verified against athrael-soju/colqwen3.5-4.5B-v3 (its config.json was not found): the "
    "sizes are a Qwen3.5-4B-shaped qwen3_5 config (32 layers, 3 linear-attention : 1 full, 2560 hidden, 9216 MLP,"
    " 16/4 heads, head_dim 256, linear 16 key / 32 value heads of 128, vocab 248320; vision depth 24, 1024, "
    "4096 MLP, out 2560, no deepstack) as copied in a public GitHub repository's test fixture (the Chandra OCR "
    "model's config.json); hidden 2560 / head_dim 256 also in https://huggingface.co/Chat2Find/Chat2Find-CPT/"
    "commit/d8553124d29a85f3f8905e40ea2a265f9b2cd02a (a Qwen3.5-4B fine-tune); dim 320: pagelens' catalog note; "
    "1280 tokens: not verified",
    "colpali": "verified: vidore/colpaligemma-3b-pt-448-base config.json "
    "(https://huggingface.co/vidore/colpaligemma-3b-pt-448-base/blob/12c59eb7e23bc4c26876f7be7c17760d5d3a1ffa/"
    "config.json): Gemma 18 x 2048, 16384 MLP, 8/1 heads, vocab 257216; SigLIP 27 x 1152, 4304 MLP, 16 heads, "
    "448 px, patch 14, 1024 image tokens, projection 2048; head_dim 256 = transformers' GemmaConfig default "
    "(the file does not set it). That it is colpali-v1.3's base: the v1.2 adapter names it "
    "(https://huggingface.co/vidore/colpali-v1.2/commit/b9631dd05e5b2967af2f98da81a406b22489f7f6); v1.3's "
    "adapter_config.json was not read",
    "colgemma3": "partly: Gemma 3 4B config.json (https://huggingface.co/unsloth/gemma-3-4b-pt/blame/main/"
    "config.json: text 34 x 2560, 10240 MLP, 8/4 heads, head_dim 256, query_pre_attn_scalar 256, sliding "
    "window 1024; https://huggingface.co/mlx-community/gemma-3-4b-it-bf16/blob/main/config.json: SigLIP 27 x "
    "1152, 4304 MLP, 16 heads, 896 px, patch 14, 256 tokens per image); vocab 262208 = transformers' "
    "Gemma3TextConfig default. No ColGemma3 checkpoint is named here, so which base it uses: not verified",
    "colidefics3": "partly: text = HuggingFaceTB/SmolVLM-256M-Instruct config.json (copy at "
    "https://huggingface.co/Mattimax/DATA-AI_Smol256M-Instruct/blob/main/config.json: 30 x 576, 1536 MLP, 9/3 "
    "heads, head_dim 64, scale_factor 4); colSmol-256M's adapter names vidore/ColSmolVLM-Instruct-250M "
    "(https://huggingface.co/vidore/colSmol-256M/blob/e425d3590a626ff778db01604b4a7496ddceb211/"
    "adapter_config.json); 64 image tokens a tile: the ColSmolVLM processor_config.json (500M sibling, "
    "https://huggingface.co/vidore/ColSmolVLM-Instruct-500M/blob/main/processor_config.json); the vision "
    "tower's sizes (12 x 768, 512 px, patch 16) and vocab 49280: not verified",
    "colmodernvbert": "partly: ModernVBERT/modernvbert-embed config.json, the same suite's sibling "
    "(https://huggingface.co/ModernVBERT/modernvbert-embed/blob/main/config.json): text 22 x 768, 1152 MLP, "
    "vocab 50368; vision 12 x 768, 3072 MLP, 512 px, patch 16; pixel shuffle 4. colmodernvbert's own "
    "config.json (base vidore/colmodernvbert-base, per its card) and the head counts (12 / 12): not verified",
    "hf-neomme": "not verified: transformers' NeoMMEConfig defaults, which its docstring ties to "
    "Hcompany/NeoMME-260M (transformers/models/neomme/configuration_neomme.py); the 800M retriever's card "
    "(https://huggingface.co/Hcompany/NeoMME-800M-Retriever) gives 800M parameters, vocab 131,072 and 16,384 "
    "context, but no config.json with its layer sizes was found",
}


@dataclass
class FullSize:
    """A full-size model's parts: the pagelens backend key, the model class, its config and processor."""

    family: str
    model_class: Any
    config: Any
    processor: Any


def _qwen_processor(processor_cls: Any, patch: int, merge_pixels: int, tokens: int) -> Any:
    from transformers import Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    from pagelens.testing.tiny_models import qwen_tokenizer

    budget = tokens * merge_pixels
    image = Qwen2VLImageProcessor(
        min_pixels=4 * merge_pixels, max_pixels=budget, patch_size=patch, temporal_patch_size=2, merge_size=2
    )
    video = Qwen2VLVideoProcessor(min_pixels=4 * merge_pixels, max_pixels=budget, patch_size=patch)
    tokenizer = qwen_tokenizer()
    return processor_cls(image_processor=image, tokenizer=tokenizer, video_processor=video)


def _qwen_ids(processor: Any) -> dict[str, int]:
    from pagelens.testing.tiny_models import _qwen_ids

    return _qwen_ids(processor.tokenizer)


def _colqwen2() -> FullSize:
    # Sources: CHECKED["colqwen2"] (vidore/colqwen2-base / Qwen2-VL-2B-Instruct config.json copies).
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
    # Sources: CHECKED["colqwen2_5"] (Qwen/Qwen2.5-VL-3B-Instruct config.json copy); 768 tokens not verified.
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
    # Sources: CHECKED["colqwen3"] (Qwen/Qwen3-VL-4B-Instruct config.json copy); the 1280-token page budget and
    # tomoro's own config.json are not verified.
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
    # Sources: CHECKED["colpali"] (vidore/colpaligemma-3b-pt-448-base config.json, commit 12c59eb).
    from colpali_engine.models.paligemma.colpali import ColPali, ColPaliProcessor
    from transformers import GemmaConfig, PaliGemmaConfig, SiglipImageProcessor, SiglipVisionConfig

    from pagelens.testing.tiny_models import paligemma_tokenizer

    image = SiglipImageProcessor(
        size={"height": 448, "width": 448}, resample=3, image_mean=[0.5] * 3, image_std=[0.5] * 3
    )
    image.image_seq_length = 1024  # (448 / 14) ** 2
    tokenizer = paligemma_tokenizer()
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
    # Sources: CHECKED["colidefics3"]: text from a SmolVLM-256M-Instruct config.json copy; vision not verified.
    from colpali_engine.models.idefics3.colidefics3 import ColIdefics3, ColIdefics3Processor
    from transformers import Idefics3Config, Idefics3VisionConfig, LlamaConfig

    from pagelens.testing.tiny_models import idefics3_tokenizer

    tokenizer = idefics3_tokenizer()
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
    # Sources: CHECKED["colmodernvbert"] (ModernVBERT/modernvbert-embed config.json, the sibling checkpoint).
    from colpali_engine.models.modernvbert.colmodernvbert import ColModernVBert, ColModernVBertProcessor
    from transformers import ModernVBertConfig

    from pagelens.testing.tiny_models import modernvbert_tokenizer

    tokenizer = modernvbert_tokenizer()
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
    # Not verified: transformers' NeoMMEConfig defaults (= NeoMME-260M per its docstring), CHECKED["hf-neomme"].
    from transformers import NeoMMEConfig, NeoMMEForRetrieval, NeoMMEProcessor
    from transformers.models.neomme.image_processing_neomme import NeoMMEImageProcessor

    from pagelens.testing import tiny_models as tiny

    tokenizer = tiny.neomme_tokenizer()
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


def _colqwen3_5() -> FullSize:
    # Not verified against athrael-soju/colqwen3.5-4.5B-v3: a Qwen3.5-4B-shaped config, CHECKED["colqwen3_5"].
    from colpali_engine.models.qwen3_5.colqwen3_5 import ColQwen3_5, ColQwen3_5Processor
    from transformers import Qwen3_5Config

    processor = _qwen_processor(ColQwen3_5Processor, 16, 32 * 32, 1280)
    text = {
        "vocab_size": 248320,
        "hidden_size": 2560,
        "intermediate_size": 9216,
        "num_hidden_layers": 32,
        "num_attention_heads": 16,
        "num_key_value_heads": 4,
        "head_dim": 256,
        "layer_types": ["full_attention" if (i + 1) % 4 == 0 else "linear_attention" for i in range(32)],
        "linear_conv_kernel_dim": 4,
        "linear_key_head_dim": 128,
        "linear_value_head_dim": 128,
        "linear_num_key_heads": 16,
        "linear_num_value_heads": 32,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 1e7,
            "partial_rotary_factor": 0.25,
            "mrope_section": [11, 11, 10],
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
        "deepstack_visual_indexes": [],
    }
    config = Qwen3_5Config(text_config=text, vision_config=vision, **_qwen_ids(processor))
    config.dim = 320  # ColQwen3_5 reads its projection size from config.dim (320 per pagelens' catalog)
    return FullSize("colqwen3_5", ColQwen3_5, config, processor)


def _colgemma3() -> FullSize:
    # Partly verified (Gemma 3 4B config.json copies), CHECKED["colgemma3"].
    from colpali_engine.models.gemma3.colgemma3 import ColGemma3, ColGemmaProcessor3
    from transformers import Gemma3Config, Gemma3ImageProcessor

    from pagelens.testing import tiny_models as tiny

    tokenizer = tiny.gemma3_tokenizer()
    image = Gemma3ImageProcessor(
        size={"height": 896, "width": 896}, image_mean=[0.5] * 3, image_std=[0.5] * 3, do_pan_and_scan=False
    )
    # 896 px, 14 px patches -> 64 x 64 patches, pooled to 256 image tokens (mm_tokens_per_image)
    processor = ColGemmaProcessor3(
        image_processor=image, tokenizer=tokenizer, image_seq_length=256, chat_template=tiny._GEMMA_TEMPLATE
    )
    text = {
        "model_type": "gemma3_text",
        "vocab_size": 262208,
        "hidden_size": 2560,
        "intermediate_size": 10240,
        "num_hidden_layers": 34,
        "num_attention_heads": 8,
        "num_key_value_heads": 4,
        "head_dim": 256,
        "query_pre_attn_scalar": 256,
        "sliding_window": 1024,
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
    }
    vision = {
        "model_type": "siglip_vision_model",
        "hidden_size": 1152,
        "intermediate_size": 4304,
        "num_hidden_layers": 27,
        "num_attention_heads": 16,
        "image_size": 896,
        "patch_size": 14,
        "vision_use_head": False,
    }
    config = Gemma3Config(
        text_config=text,
        vision_config=vision,
        mm_tokens_per_image=256,
        boi_token_index=tokenizer.convert_tokens_to_ids("<start_of_image>"),
        eoi_token_index=tokenizer.convert_tokens_to_ids("<end_of_image>"),
        image_token_index=tokenizer.convert_tokens_to_ids("<image_soft_token>"),
    )
    return FullSize("colgemma3", ColGemma3, config, processor)


BUILDERS: dict[str, Callable[[], FullSize]] = {
    "colmodernvbert": _colmodernvbert,
    "colidefics3": _colidefics3,
    "hf-neomme": _hf_neomme,
    "colqwen2": _colqwen2,
    "colpali": _colpali,
    "colqwen2_5": _colqwen2_5,
    "colqwen3": _colqwen3,
    "colqwen3_5": _colqwen3_5,
    "colgemma3": _colgemma3,
}
#: Families with no full-size config entered here (and why).
NOT_ENTERED = {
    "colqwen2_5omni": (
        "not buildable: colpali-engine 0.3.18's ColQwen2_5Omni cannot be constructed with transformers 5 "
        "(it expects transformers 4's layout: self.visual, config.hidden_size)"
    ),
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
