"""A tiny ShapEImg2ImgPipeline saved to disk (diffusers' own test sizes), for the Shap-E route's
offline loading and lifting; random weights, so its meshes mean nothing but their plumbing."""

from __future__ import annotations

from pathlib import Path


def save_tiny_shap_e(folder: Path) -> Path:
    """Save the pipeline to ``folder``. Its random field has no surface for diffusers' marching
    cubes: the empty mesh the Shap-E route must report clearly."""
    import torch
    from diffusers import HeunDiscreteScheduler, PriorTransformer, ShapEImg2ImgPipeline
    from diffusers.pipelines.shap_e import ShapERenderer
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    torch.manual_seed(0)
    prior = PriorTransformer(num_attention_heads=2, attention_head_dim=16, embedding_dim=16, num_embeddings=32,
                             embedding_proj_dim=16, time_embed_dim=64, num_layers=1, clip_embed_dim=32,
                             additional_embeddings=0, time_embed_act_fn="gelu", norm_in_type="layer",
                             embedding_proj_norm_type="layer", encoder_hid_proj_type=None, added_emb_type=None)
    image_encoder = CLIPVisionModel(CLIPVisionConfig(hidden_size=16, image_size=32, projection_dim=16,
                                                     intermediate_size=24, num_attention_heads=2, num_channels=3,
                                                     num_hidden_layers=5, patch_size=1))
    processor = CLIPImageProcessor(crop_size=32, do_center_crop=True, do_normalize=True, do_resize=True,
                                   image_mean=[0.48145466, 0.4578275, 0.40821073],
                                   image_std=[0.26862954, 0.26130258, 0.27577711], resample=3, size=32)
    renderer = ShapERenderer(param_shapes=((8, 93), (8, 8), (8, 8), (8, 8)), d_latent=16, d_hidden=8, n_output=12,
                             background=(0.1, 0.1, 0.1))
    scheduler = HeunDiscreteScheduler(beta_schedule="exp", num_train_timesteps=1024, prediction_type="sample",
                                      use_karras_sigmas=True, clip_sample=True, clip_sample_range=1.0)
    pipe = ShapEImg2ImgPipeline(prior=prior, image_encoder=image_encoder, image_processor=processor,
                                shap_e_renderer=renderer, scheduler=scheduler)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder
