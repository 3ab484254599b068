"""The one VDT training loop (Physion pretraining and the generation benchmarks both use it)."""

from pipelines.training.loop import train_vdt
from pipelines.training.model_factory import (
    TrainedVDT,
    build_diffusion,
    build_latent,
    build_vdt,
    fit_normalization,
    load_trained,
)

__all__ = [
    "train_vdt",
    "build_vdt",
    "build_latent",
    "build_diffusion",
    "fit_normalization",
    "load_trained",
    "TrainedVDT",
]
