"""`vdt-physion evaluate --run DIR --scenario SPEC`: read out a new physics scenario with an already-trained VDT.

Generates readout and test trials of the user's scenario (a plugin spec, ``module:Class`` or ``file.py:Class``)
into ``DIR/evaluate/<Scenario>/`` and runs rollout, extract, readout and report there with the run's pretrained
VDT and slot module; nothing is retrained."""

from __future__ import annotations

import logging
from pathlib import Path

from pipelines.config.loading import ConfigError, load_config, preflight, validate_config
from pipelines.config.physion_run import PhysionRunConfig

NAME = "evaluate"
HELP = "readout accuracy of a new scenario (plugin) with the trained VDT of a finished run, without retraining"
log = logging.getLogger(__name__)


def add_arguments(p) -> None:
    p.add_argument("--run", type=Path, required=True, help="a run folder whose pretrain and extract stages are done")
    p.add_argument("--scenario", required=True, help="module:Class or path/file.py:Class (or a built-in name)")
    p.add_argument("--readout", type=int, default=None, help="readout trials (default: the run's per-scenario count)")
    p.add_argument("--test", type=int, default=None, help="test trials (default: the run's per-scenario count)")
    p.add_argument("--model", default=None, help="which pretrained model (protocols only / all-but-one have several)")
    p.add_argument("--no-progress", action="store_true")


def evaluation_context(args):
    from pipelines.stages.context import RunContext

    parent = load_config(args.run / "config.yaml", PhysionRunConfig)
    pretrain_root = args.run / "pretrain"
    models = sorted(p.parent.name for p in pretrain_root.glob("*/model.pt"))
    if not models:
        raise ConfigError(f"{args.run}: no pretrained model (pretrain/*/model.pt); run the pipeline first")
    group = args.model or (models[0] if len(models) == 1 else None)
    if group not in models:
        raise ConfigError(f"{args.run} has the pretrained models {models}; choose one with --model")
    counts = {
        "training": 0,
        "readout": args.readout or parent.data.counts["readout"],
        "test": args.test or parent.data.counts["test"],
    }
    # built like any config: the parent's, changed, then validated (model_copy would skip the validators)
    raw = parent.model_dump(mode="json")
    raw["data"].update({"source": "generate", "store": None, "scenarios": [args.scenario], "counts": counts})
    raw["name"] = f"{parent.name}-evaluate"
    source = f"evaluate of {args.run}"
    config = validate_config(raw, PhysionRunConfig, source=source)
    preflight(config, source)
    ctx = RunContext(config, Path("."), progress=not args.no_progress, pretrain_root=pretrain_root, model_group=group)
    ctx.root = args.run / "evaluate" / ctx.scenario_names()[0]
    return ctx


def run(args) -> int:
    from pipelines.stages.runner import run_pipeline

    ctx = evaluation_context(args)
    run_pipeline(ctx)
    log.info(
        "evaluation of %s with model %r: %s", args.scenario, ctx.model_group, ctx.stage_dir("report") / "report.md"
    )
    return 0
