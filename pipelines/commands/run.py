"""`vdt-physion run CONFIG`: every stage of the Physion pipeline (generate, pretrain, rollout, extract, readout,
report) into one run folder; done stages are skipped, an interrupted one resumes."""

from __future__ import annotations

import logging

from pipelines.commands._physion_run import add_config_arguments, context_from_args
from pipelines.config.loading import preflight
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
    preflight(ctx.config, str(args.config))
    check_scenarios(ctx, str(args.config))  # named after the config here, not stages later
    if args.check:
        check_loadable(ctx, str(args.config))
        log.info("%s is valid; run folder would be %s", args.config, ctx.root)
        return 0
    run_pipeline(ctx, args.first, args.last, restart=args.first is not None)
    report = ctx.stage_dir("report") / "report.md"
    if report.is_file():
        log.info("report: %s", report)
    return 0
