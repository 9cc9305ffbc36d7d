"""Encoding models: stimulus -> brain responses (the other direction from decoding).

A linear voxelwise model on CLIP image embeddings and a transformer with learned queries per voxel
group that attend to the image tower's spatial tokens, fitted on the same training trials and
scored on the same test images; with them, reconstructions get a brain score and voxels captions.
"""
