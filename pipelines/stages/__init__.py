"""The Physion pipeline's stages, in order; each module has one entry point ``run(ctx) -> summary dict``."""

from pipelines.config.physion_run import STAGES

__all__ = ["STAGES"]
