"""`vdt-physion run CONFIG`: every stage of the Physion pipeline (generate, pretrain, rollout, extract, readout,
report) into one run folder; done stages are skipped, an interrupted one resumes."""

from __future__ import annotations

import logging

from pipelines.commands._physion_run import add_config_arguments, context_from_args
from pipelines.config.physion_run import STAGES

NAME = "run"
HELP = "run the staged Physion pipeline (generate -> pretrain -> rollout -> extract -> readout -> report)"
log = logging.getLogger(__name__)


def add_arguments(p) -> None:
    add_config_arguments(p)
    p.add_argument(
        "--from",
        dest="first",
        choices=STAGES,
        help="redo from this stage: its outputs and later stages' are discarded first",
    )
    p.add_argument("--until", dest="last", choices=STAGES, help="stop after this stage")
    p.add_argument(
        "--check",
        action="store_true",
        help="only validate the config, its local paths, its scenario "
        "names and plugin specs (this imports the plugins), and open the weight files it names",
    )


def run(args) -> int:
    from pipelines.stages.runner import check_loadable, check_scenarios, run_pipeline

    ctx = context_from_args(args)
    check_scenarios(ctx, str(args.config))  # named after the config here, not stages later
    if ctx.config.pretrain_data is not None:
        from pipelines.commands._physion_run import pretraining_context

        check_scenarios(pretraining_context(ctx), f"{args.config} (pretrain_data)")
    if args.check:
        check_loadable(ctx, str(args.config))
        log.info("%s is valid; run folder would be %s", args.config, ctx.root)
        return 0
    if ctx.config.pretrain_data is not None and args.last != "generate":
        _pretrain_mixed(ctx, args)
    run_pipeline(ctx, args.first, args.last, restart=args.first is not None)
    report = ctx.stage_dir("report") / "report.md"
    if report.is_file():
        log.info("report: %s", report)
    return 0


def _pretrain_mixed(ctx, args) -> None:
    """A mixed run's pretraining part, before the main run: generate (training split) and pretrain on
    ``pretrain_data``, then the slot modules on its training clips. Done parts are skipped, as in any run."""
    from pipelines.commands._physion_run import pretraining_context
    from pipelines.stages.extract import train_slot_modules
    from pipelines.stages.runner import run_folder_lock, run_pipeline

    sub = pretraining_context(ctx)
    first = args.first if args.first in ("generate", "pretrain") else None
    log.info("mixed run: pretraining on %s data in %s", sub.config.data.source, sub.root)
    run_pipeline(sub, first, "pretrain", restart=first is not None)
    with run_folder_lock(sub):
        train_slot_modules(sub)
