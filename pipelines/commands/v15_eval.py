"""`vdt-physion v15-eval CONFIG --out RUN`: Physion v1.5's protocol on a run's store with its pretrained VDT."""

from __future__ import annotations

import logging

from pipelines.commands._physion_run import add_config_arguments, context_from_args

NAME = "v15-eval"
HELP = (
    "Physion v1.5's protocol with a run's pretrained VDT: the harness's OCP / OCD frame windows on the run's readout "
    "(= v1.5 train) and test trials, features through the v1.5 adapter, written as the harness's HDF5/JSON files "
    "in RUN/v15/<task>/, then v1.5's all-scenario readout beside our per-scenario one"
)
log = logging.getLogger(__name__)


def add_arguments(p) -> None:
    add_config_arguments(p)
    p.add_argument("--task", action="append", choices=["ocp", "ocd"], help="default: v15.tasks of the config")


def run(args) -> int:
    from pipelines.config.loading import ConfigError
    from pipelines.physion_v15.run import evaluate_windows, read_out, summary_lines
    from pipelines.stages.runner import run_folder_lock

    ctx = context_from_args(args)
    if not ctx.is_done("pretrain"):
        raise ConfigError(f"{ctx.stage_dir('pretrain')}: the pretrain stage is not done; run --until pretrain first")
    with run_folder_lock(ctx):
        for task in args.task or ctx.config.v15.tasks:
            folder, made = evaluate_windows(ctx, task)
            sources = {"store": str(ctx.store), "train_split": "readout", "test_split": "test", "task": task, **made}
            sources["models"] = {s: str(ctx.model_path(s)) for s in ctx.scenario_names()}
            for line in summary_lines(read_out(folder, ctx.config, sources)):
                print(line)
    return 0
