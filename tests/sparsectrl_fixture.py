"""A tiny AnimateDiff + SparseCtrl set saved to disk, for the offline real-model video path: a
Stable Diffusion 1.5-style pipeline folder, a motion adapter and a SparseCtrl RGB model (the
component sizes of diffusers' own AnimateDiff SparseCtrl tests)."""

from pathlib import Path

import torch

from unclip_fixture import clip_tokenizer_files

HIDDEN = 8


def build_tiny_sparsectrl(folder: Path) -> dict[str, Path]:
    """Save the three parts under ``folder``; returns their folders (base, motion_adapter, controlnet)."""
    from diffusers import (AutoencoderKL, DDIMScheduler, MotionAdapter, SparseControlNetModel,
                           StableDiffusionPipeline, UNet2DConditionModel)
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    vocab, merges = clip_tokenizer_files(folder / "tokenizer-src")
    tokenizer = CLIPTokenizer(str(vocab), str(merges), model_max_length=77)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        hidden_size=HIDDEN, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
        vocab_size=len(tokenizer), bos_token_id=49406, eos_token_id=49407, pad_token_id=49407))
    unet = UNet2DConditionModel(
        block_out_channels=(8, 8), layers_per_block=2, sample_size=8, in_channels=4, out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=HIDDEN, norm_num_groups=2)
    vae = AutoencoderKL(block_out_channels=(8, 8), in_channels=3, out_channels=3,
                        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                        latent_channels=4, norm_num_groups=2)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="linear", clip_sample=False,
                              steps_offset=1)
    base = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    base.save_pretrained(folder / "sd15", safe_serialization=True)
    MotionAdapter(block_out_channels=(8, 8), motion_layers_per_block=2, motion_norm_num_groups=2,
                  motion_num_attention_heads=4).save_pretrained(folder / "motion_adapter", safe_serialization=True)
    SparseControlNetModel(block_out_channels=(8, 8), layers_per_block=2, in_channels=4, conditioning_channels=3,
                          down_block_types=("CrossAttnDownBlockMotion", "DownBlockMotion"), cross_attention_dim=HIDDEN,
                          conditioning_embedding_out_channels=(8, 8), norm_num_groups=1,
                          use_simplified_condition_embedding=False,
                          ).save_pretrained(folder / "sparsectrl_rgb", safe_serialization=True)
    return {"base": folder / "sd15", "motion_adapter": folder / "motion_adapter", "controlnet": folder / "sparsectrl_rgb"}
