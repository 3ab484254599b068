"""Stage 2: pretrain one VDT per protocol group (``all``: one; ``only`` / ``all-but-one``: one per scenario) on
random clips of the training split, with unified mask modeling (pipelines.training.train_vdt)."""

from __future__ import annotations

import logging
from typing import Any

from pipelines.stages import trials as trial_sets
from pipelines.stages.context import RunContext
from pipelines.training import train_vdt

log = logging.getLogger(__name__)


def run(ctx: RunContext) -> dict[str, Any]:
    c = ctx.config
    models = {}
    for group, scenarios in ctx.groups().items():
        dataset = trial_sets.clip_dataset(ctx, scenarios)
        log.info("pretraining %r on %d training trials of %s", group, len(dataset), ", ".join(scenarios))
        path = train_vdt(
            dataset,
            model=c.model,
            latent=c.latent,
            pretrain=c.pretrain,
            out_dir=ctx.stage_dir("pretrain") / group,
            seed=c.seed,
            progress=ctx.progress,
            preview_sampler=c.rollout.sampler,
        )
        models[group] = {"path": str(path), "scenarios": scenarios, "training_trials": len(dataset)}
    return {"models": models}
