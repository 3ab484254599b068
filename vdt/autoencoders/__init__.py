"""Latent spaces (pixels, our ConvVAE, Stable Diffusion's VAE) behind one interface; import from ``vdt.autoencoder``."""
