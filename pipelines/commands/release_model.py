"""``vdt-physion release-model CONFIG --file FILE``: pretrain the VDT a config describes (its generate and pretrain
stages, in the run folder --out, default runs/<name>) and write it as one small file: the EMA weights with their config, latent
normalisation, diffusion process and provenance (the config and seed that made it). This is how the shipped
``models/*.pt`` are made; the same command on the same machine type gives the same file."""

from __future__ import annotations

import logging
from pathlib import Path

from pipelines.commands._physion_run import add_config_arguments, context_from_args
from pipelines.config.loading import dump_config
from pipelines.training.model_factory import release_checkpoint

NAME = "release-model"
HELP = "pretrain a config's VDT and write it as one small shippable file (EMA weights + what loading needs)"
log = logging.getLogger(__name__)


def add_arguments(p) -> None:
    add_config_arguments(p)
    p.add_argument("--file", dest="release", type=Path, required=True, help="the model file to write")
    p.add_argument("--group", default="all", help="which pretrained group of the run (protocol 'all': all)")


def run(args) -> int:
    from pipelines.stages.runner import check_scenarios, run_pipeline

    ctx = context_from_args(args)
    check_scenarios(ctx, str(args.config))
    run_pipeline(ctx, last="pretrain")
    source = ctx.stage_dir("pretrain") / args.group / "model.pt"
    path = release_checkpoint(
        source,
        args.release,
        provenance={"config": dump_config(ctx.config), "command": f"vdt-physion release-model {args.config}"},
    )
    log.info("released %s (%.1f MB) from %s", path, path.stat().st_size / 1e6, source)
    return 0
