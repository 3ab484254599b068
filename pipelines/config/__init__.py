"""Typed, validated run configs: shared sections (``sections``), the Physion run (``physion_run``), loading with
errors that name the key (``loading``)."""

from pipelines.config.loading import ConfigError, dump_config, load_config, preflight
from pipelines.config.physion_run import PhysionRunConfig
from pipelines.config.sections import LatentConfig, ModelConfig, PretrainConfig, SamplerConfig

__all__ = [
    "ConfigError",
    "load_config",
    "dump_config",
    "preflight",
    "PhysionRunConfig",
    "LatentConfig",
    "ModelConfig",
    "PretrainConfig",
    "SamplerConfig",
]
