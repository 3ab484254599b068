"""Arguments and context shared by ``run`` and the per-stage commands."""

from __future__ import annotations

from pathlib import Path

from pipelines.config.loading import ConfigError, load_config
from pipelines.config.physion_run import PhysionRunConfig
from pipelines.stages.context import RunContext


def add_config_arguments(p) -> None:
    p.add_argument("config", type=Path, help="YAML run config (see configs/)")
    p.add_argument("--out", type=Path, default=None, help="run folder (default runs/<config name>)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set pretrain.steps=100 (repeatable)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars (logs only)")


def context_from_args(args, **kwargs) -> RunContext:
    config = load_config(args.config, PhysionRunConfig, args.overrides)
    root = args.out or Path("runs") / config.name
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{root}: the run folder (--out) is a file, not a folder")
    return RunContext(config, root, progress=not args.no_progress, **kwargs)


def stage_command(stage: str, shardable: bool = False):
    """(add_arguments, run) of the command that runs one stage of a run (earlier stages must be done)."""
    from pipelines.config.loading import preflight

    def add_arguments(p) -> None:
        add_config_arguments(p)
        if shardable:
            p.add_argument(
                "--shard",
                type=str,
                default=None,
                metavar="I/N",
                help="only work units I, I+N, I+2N, ... (array jobs; the stage completes once all ran)",
            )

    def run(args) -> int:
        from physion.generation.plan import parse_shard
        from pipelines.stages.runner import run_stage

        try:
            shard = parse_shard(args.shard) if getattr(args, "shard", None) else None
        except ValueError as err:
            raise ConfigError(f"--shard: {err}") from None
        ctx = context_from_args(args, shard=shard)
        preflight(ctx.config, str(args.config))
        run_stage(ctx, stage)
        return 0

    return add_arguments, run
