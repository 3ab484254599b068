"""Run a range of stages in order: skip the done ones, resume the interrupted one, refuse mixed configs."""

from __future__ import annotations

import contextlib
import importlib
import logging
import shutil
import time
from pathlib import Path
from typing import Iterator

from physion.atomic import atomic_path
from physion.locking import folder_lock
from pipelines.config.loading import dump_config
from pipelines.config.physion_run import STAGES
from pipelines.distributed import process_state
from pipelines.stages.context import RunContext, StageOrderError

log = logging.getLogger(__name__)
# Under `accelerate launch`, these stages run in every process (sharing the work); the others run on the main
# process while the rest wait.
DISTRIBUTED_STAGES = ("pretrain", "rollout")
RUN_LOCK = ".run.lock"
_held: set[Path] = set()  # locks this process holds: run_pipeline's covers the run_stage calls inside it


@contextlib.contextmanager
def run_folder_lock(ctx: RunContext, stage: str | None = None) -> Iterator[None]:
    """Hold the run folder alone: ``ROOT/.run.lock``, or for a sharded stage command (array jobs share the stage
    folder on purpose) ``ROOT/<stage>/.shard-I-of-N.lock``. Under `accelerate launch` only the main process
    locks: the processes of one launch share the folder on purpose, and wait for the main one at every stage."""
    if ctx.shard is not None and stage is not None:
        folder, name = ctx.stage_dir(stage), f".shard-{ctx.shard[0]}-of-{ctx.shard[1]}.lock"
    else:
        folder, name = ctx.root, RUN_LOCK
    path = (folder / name).absolute()
    if path in _held or not process_state().is_main_process:
        yield
        return
    with folder_lock(
        folder,
        name,
        "another vdt-physion process is working in this run folder",
        hint="wait for it to finish (a rerun then resumes), or use another --out",
    ):
        _held.add(path)
        try:
            yield
        finally:
            _held.discard(path)


def stage_module(stage: str):
    return importlib.import_module(f"pipelines.stages.{stage}")


def discard(ctx: RunContext, first: str) -> None:
    """Delete the outputs of ``first`` and every later stage (``--from``)."""
    for stage in STAGES[STAGES.index(first) :]:
        folder = ctx.stage_dir(stage)
        if folder.exists():
            log.warning("--from %s: removing %s", first, folder)
            shutil.rmtree(folder)


def run_stage(ctx: RunContext, stage: str) -> bool:
    """Run one stage unless its manifest says it is done; returns whether it ran."""
    with run_folder_lock(ctx, stage):
        return _run_stage(ctx, stage)


def _run_stage(ctx: RunContext, stage: str) -> bool:
    if ctx.is_done(stage):
        log.info("stage %-8s done (manifest %s), skipped", stage, ctx.stage_dir(stage) / "manifest.json")
        return False
    earlier = [s for s in ctx.stages[: ctx.stages.index(stage)] if not ctx.is_done(s)]
    if earlier:
        raise StageOrderError(
            ctx.root,
            f"stage {stage} needs {earlier} to be done first",
            hint=f"vdt-physion run CONFIG --out {ctx.root} --until {stage}",
        )
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
    """Run stages ``first``..``last`` (default all); with ``restart``, discard ``first`` and later stages first.
    The config's local paths were checked where it was built (the commands' ``preflight``), not again here."""
    lo = STAGES.index(first) if first else 0
    hi = STAGES.index(last) if last else len(STAGES) - 1
    if lo > hi:
        raise ValueError(f"--from {first} comes after --until {last}")
    with run_folder_lock(ctx):
        return _run_pipeline(ctx, first, lo, hi, restart)


def _run_pipeline(ctx: RunContext, first: str | None, lo: int, hi: int, restart: bool) -> dict:
    if process_state().is_main_process:
        with atomic_path(ctx.root / "config.yaml") as tmp:
            tmp.write_text(dump_config(ctx.config))
    if restart and first and process_state().is_main_process:
        discard(ctx, first)
    process_state().wait_for_everyone()
    ran = {stage: run_stage(ctx, stage) for stage in STAGES[lo : hi + 1] if stage in ctx.stages}
    log.info("run folder: %s", ctx.root)
    return ran


def check_loadable(ctx: RunContext, source: str = "config") -> None:
    """``run --check``: what the first stages would load, loaded now, so a config that fails at once fails here.
    Resolves the scenario names and plugin specs (importing the plugins, as a run does), builds the latent space
    from ``latent.path`` and fits ``model.init_checkpoint`` to the model (on the meta device: no memory).
    Each problem is a ConfigError naming the key."""
    import torch

    from pipelines.config.loading import ConfigError
    from pipelines.training.model_factory import build_latent, build_vdt
    from vdt.checkpoint import CheckpointMismatchError, adapt_state_dict, extract_state_dict, read_checkpoint

    config = ctx.config
    check_scenarios(ctx, source)
    try:
        space = build_latent(config.latent)
    except Exception as err:  # noqa: BLE001 - whatever the loader raises, the user needs the key and the file
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(
            f"{source}: latent.path: {config.latent.path} cannot be loaded as {config.latent.kind} weights ({first})"
        ) from None
    init = config.model.init_checkpoint
    if init is not None:
        try:
            with torch.device("meta"):
                model = build_vdt(config.model.model_copy(update={"init_checkpoint": None}), space)
            adapt_state_dict(model, extract_state_dict(read_checkpoint(init)))
        except CheckpointMismatchError as err:
            message = str(err) if str(err).startswith(str(init)) else f"{init}: {err}"
            raise ConfigError(f"{source}: model.init_checkpoint: {message}") from None


def check_scenarios(ctx: RunContext, source: str = "config") -> None:
    """ConfigError naming ``data.scenarios`` for a name or plugin spec that loads no scenario (this imports the
    plugins, as generating does), or, with ``source: store``, a scenario the store does not hold."""
    from physion.scenarios import ScenarioLoadError
    from physion.storage.store import TrialStore
    from pipelines.config.loading import ConfigError

    if ctx.config.data.source == "generate":
        try:
            ctx.scenario_names()
        except (ScenarioLoadError, ValueError) as err:
            raise ConfigError(f"{source}: data.scenarios: {err}") from None
        return
    present = {scenario for _, scenario in TrialStore(ctx.store).groups()}
    unknown = [name for name in ctx.config.data.scenarios if name not in present]
    if unknown:
        raise ConfigError(
            f"{source}: data.scenarios: {unknown} not in the store {ctx.store} (it holds {sorted(present)})"
        )
