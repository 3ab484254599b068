"""The one VDT training loop (Physion pretraining and the generation benchmarks both use it)."""
from pipelines.training.loop import train_vdt
from pipelines.training.model_factory import build_latent, build_vdt

__all__ = ["train_vdt", "build_vdt", "build_latent"]
