"""Stage 1: the training / readout / test splits, generated with the physics engine (or an existing store)."""
from __future__ import annotations

import logging
from typing import Any

from physion.errors import PhysionDataError
from physion.store import TrialStore
from physion.trial import SPLITS
from pipelines.stages.context import RunContext

log = logging.getLogger(__name__)


def run(ctx: RunContext) -> dict[str, Any]:
    data = ctx.config.data
    if data.source == "generate":
        from physion.generate import generate  # the physics engine loads only when trials are generated
        counts = {s: (data.counts[s] if s in ctx.splits or s == "training" else 0) for s in SPLITS}
        manifest = generate(ctx.store, scenarios=data.scenarios, counts=counts, resolution=data.render_resolution,
                            num_frames=data.num_frames, workers=data.workers, seed=data.seed,
                            max_tries=data.max_tries, progress=ctx.progress)
        log.info("trial store: %s", ctx.store)
        return {"store": str(ctx.store), "counts": counts, "summary": manifest.get("summary", {})}
    store = TrialStore(ctx.store)
    found = {split: {sc: len(store.trials(split, sc)) for sc in ctx.scenario_names()} for split in SPLITS}
    for split in ctx.splits:
        empty = [sc for sc, n in found[split].items() if n == 0]
        if empty:
            raise PhysionDataError(ctx.store, f"no {split} trials for scenario(s) {empty}")
    log.info("using the existing trial store %s: %s", ctx.store, found)
    return {"store": str(ctx.store), "counts": found}
