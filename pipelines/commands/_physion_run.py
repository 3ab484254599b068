"""Arguments and context shared by ``run`` and the per-stage commands."""

from __future__ import annotations

from pathlib import Path

from pipelines.config.loading import ConfigError, add_overrides_argument, load_config, preflight
from pipelines.config.physion_run import PhysionRunConfig
from pipelines.stages.context import RunContext


def add_config_arguments(p) -> None:
    p.add_argument("config", type=Path, help="YAML run config (see configs/)")
    p.add_argument("--out", type=Path, default=None, help="run folder (default runs/<config name>)")
    add_overrides_argument(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bars (logs only)")


def context_from_args(args, **kwargs) -> RunContext:
    """The run every run command works on: its config loaded, validated and preflighted (the one preflight of an
    invocation: missing local paths fail here, named after the config file, before any folder is made)."""
    config = load_config(args.config, PhysionRunConfig, args.overrides)
    preflight(config, str(args.config))
    root = args.out or Path("runs") / config.name
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{root}: the run folder (--out) is a file, not a folder")
    ctx = RunContext(config, root, progress=not args.no_progress, **kwargs)
    if config.pretrain_data is not None:
        ctx.pretrain_root = pretraining_context(ctx).stage_dir("pretrain")
    return ctx


def pretraining_context(ctx: RunContext) -> RunContext:
    """A mixed run's pretraining part (``pretrain_data``): its own run folder ``RUN/pretraining-<key>/`` holding
    generate (training split only), pretrain and the slot modules. The key (of its data, model and pretraining
    sections) is in the folder name, so the main run's stage keys, which include that path, change with it: work
    read out with one pretrained model is never mixed with another's."""
    sub = RunContext(ctx.config.pretraining_config(), ctx.root, progress=ctx.progress, splits=())
    sub.root = ctx.root / f"pretraining-{sub.key('pretrain')}"
    return sub


def stage_command(stage: str, shardable: bool = False):
    """(add_arguments, run) of the command that runs one stage of a run (earlier stages must be done)."""

    def add_arguments(p) -> None:
        add_config_arguments(p)
        if shardable:
            p.add_argument(
                "--shard",
                type=str,
                default=None,
                metavar="I/N",
                help="only the I-th of N blocks of work units (array jobs; the stage completes once all ran)",
            )

    def run(args) -> int:
        from physion.generation.plan import parse_shard
        from pipelines.stages.runner import run_stage

        try:
            shard = parse_shard(args.shard) if getattr(args, "shard", None) else None
        except ValueError as err:
            raise ConfigError(f"--shard: {err}") from None
        ctx = context_from_args(args, shard=shard)
        if stage not in ctx.stages:
            raise ConfigError(
                f"{args.config}: a mixed run (pretrain_data) pretrains in its own folder; use `vdt-physion run`"
            )
        run_stage(ctx, stage)
        return 0

    return add_arguments, run
