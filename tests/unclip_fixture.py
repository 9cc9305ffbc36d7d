"""A StableUnCLIPImg2ImgPipeline assembled from tiny, randomly initialised parts and saved to disk,
so the pretrained-pipeline path is exercised offline exactly as a downloaded pipeline would be."""

import json
from pathlib import Path

import torch

EMBED_DIM = 16


def clip_tokenizer_files(folder: Path) -> tuple[Path, Path]:
    """vocab.json + merges.txt for transformers' CLIPTokenizer, from the BPE vocabulary that
    open_clip ships (its special tokens renamed to the names CLIPTokenizer uses)."""
    from open_clip.tokenizer import SimpleTokenizer

    tokenizer = SimpleTokenizer()
    rename = {"<start_of_text>": "<|startoftext|>", "<end_of_text>": "<|endoftext|>"}
    vocab = {rename.get(token, token): index for token, index in tokenizer.encoder.items()}
    merges = sorted(tokenizer.bpe_ranks, key=tokenizer.bpe_ranks.get)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(pair) for pair in merges) + "\n")
    return folder / "vocab.json", folder / "merges.txt"


def build_tiny_unclip(folder: Path) -> Path:
    """Save a tiny StableUnCLIPImg2ImgPipeline (32 px images, 16-d image embeddings) to ``folder``."""
    from diffusers import (AutoencoderKL, DDIMScheduler, DDPMScheduler, StableUnCLIPImg2ImgPipeline,
                           UNet2DConditionModel)
    from diffusers.pipelines.stable_diffusion.stable_unclip_image_normalizer import StableUnCLIPImageNormalizer
    from transformers import (CLIPImageProcessor, CLIPTextConfig, CLIPTextModel, CLIPTokenizer, CLIPVisionConfig,
                              CLIPVisionModelWithProjection)

    torch.manual_seed(0)
    vocab, merges = clip_tokenizer_files(folder.parent / "tokenizer-src")
    tokenizer = CLIPTokenizer(str(vocab), str(merges), model_max_length=77)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        hidden_size=EMBED_DIM, intermediate_size=32, num_attention_heads=2, num_hidden_layers=1,
        vocab_size=len(tokenizer), bos_token_id=49406, eos_token_id=49407, pad_token_id=49407, projection_dim=EMBED_DIM))
    image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=EMBED_DIM, projection_dim=EMBED_DIM, num_hidden_layers=1, num_attention_heads=2,
        image_size=32, intermediate_size=32, patch_size=8))
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, block_out_channels=(16, 32), layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        attention_head_dim=4, norm_num_groups=8, cross_attention_dim=EMBED_DIM, class_embed_type="projection",
        projection_class_embeddings_input_dim=2 * EMBED_DIM)
    vae = AutoencoderKL(block_out_channels=(8, 8, 8), down_block_types=("DownEncoderBlock2D",) * 3,
                        up_block_types=("UpDecoderBlock2D",) * 3, latent_channels=4, norm_num_groups=8, sample_size=32)
    pipe = StableUnCLIPImg2ImgPipeline(
        feature_extractor=CLIPImageProcessor(crop_size=32, size=32), image_encoder=image_encoder,
        image_normalizer=StableUnCLIPImageNormalizer(embedding_dim=EMBED_DIM),
        image_noising_scheduler=DDPMScheduler(beta_schedule="squaredcos_cap_v2"),
        tokenizer=tokenizer, text_encoder=text_encoder, unet=unet,
        scheduler=DDIMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                                prediction_type="v_prediction", steps_offset=1),
        vae=vae)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder
