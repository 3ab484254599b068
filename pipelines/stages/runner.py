"""Run a range of stages in order: skip the done ones, resume the interrupted one, refuse mixed configs."""
from __future__ import annotations

import importlib
import logging
import shutil
import time

from physion.atomic import atomic_path
from pipelines.config.loading import dump_config, preflight
from pipelines.config.physion_run import STAGES
from pipelines.distributed import process_state
from pipelines.stages.context import RunContext

log = logging.getLogger(__name__)
# Under `accelerate launch`, these stages run in every process (sharing the work); the others run on the main
# process while the rest wait.
DISTRIBUTED_STAGES = ("pretrain", "rollout")


def stage_module(stage: str):
    return importlib.import_module(f"pipelines.stages.{stage}")


def discard(ctx: RunContext, first: str) -> None:
    """Delete the outputs of ``first`` and every later stage (``--from``)."""
    for stage in STAGES[STAGES.index(first):]:
        folder = ctx.stage_dir(stage)
        if folder.exists():
            log.warning("--from %s: removing %s", first, folder)
            shutil.rmtree(folder)


def run_stage(ctx: RunContext, stage: str) -> bool:
    """Run one stage unless its manifest says it is done; returns whether it ran."""
    if ctx.is_done(stage):
        log.info("stage %-8s done (manifest %s), skipped", stage, ctx.stage_dir(stage) / "manifest.json")
        return False
    earlier = [s for s in ctx.stages[: ctx.stages.index(stage)] if not ctx.is_done(s)]
    if earlier:
        raise RuntimeError(f"stage {stage} needs {earlier} to be done first in {ctx.root} "
                           f"(vdt-physion run CONFIG --out {ctx.root} --until {stage})")
    state = process_state()
    if state.is_main_process:
        ctx.begin(stage)
    state.wait_for_everyone()
    started = time.time()
    if stage in DISTRIBUTED_STAGES or state.is_main_process:
        log.info("stage %-8s starting -> %s", stage, ctx.stage_dir(stage))
        summary = stage_module(stage).run(ctx)
        summary["seconds"] = round(time.time() - started, 1)
        if state.is_main_process:
            ctx.finish(stage, summary)
            log.info("stage %-8s finished in %.0f s", stage, summary["seconds"])
    state.wait_for_everyone()
    return True


def run_pipeline(ctx: RunContext, first: str | None = None, last: str | None = None, restart: bool = False) -> dict:
    """Run stages ``first``..``last`` (default all); with ``restart``, discard ``first`` and later stages first."""
    preflight(ctx.config)
    if process_state().is_main_process:
        ctx.root.mkdir(parents=True, exist_ok=True)
        with atomic_path(ctx.root / "config.yaml") as tmp:
            tmp.write_text(dump_config(ctx.config))
    lo = STAGES.index(first) if first else 0
    hi = STAGES.index(last) if last else len(STAGES) - 1
    if lo > hi:
        raise ValueError(f"--from {first} comes after --until {last}")
    if restart and first and process_state().is_main_process:
        discard(ctx, first)
    process_state().wait_for_everyone()
    ran = {stage: run_stage(ctx, stage) for stage in STAGES[lo: hi + 1] if stage in ctx.stages}
    log.info("run folder: %s", ctx.root)
    return ran
