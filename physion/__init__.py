"""Physion-style physics data: a pybullet scenario generator, one HDF5 trial store, readers for real Physion.

Knows nothing about the video model (``vdt``) or the pipelines that compose the two.
"""
