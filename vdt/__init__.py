"""VDT: a Video Diffusion Transformer with unified spatial-temporal mask modeling.

Knows video tensors (B, T, C, H, W) and nothing about physics, files or datasets.
"""
