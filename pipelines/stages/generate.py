"""Stage 1: the training / readout / test splits, generated with the physics engine (or an existing store).

A generated store renders at the model's resolution and keeps only the frames the run reads (``data.generation``);
an existing store is checked to hold them, so a run that needs other frames stops here, not stages later.
"""

from __future__ import annotations

import logging
from typing import Any

from tqdm import tqdm

from physion.datasets import check_serves
from physion.errors import PhysionDataError
from physion.storage.hdf5_read import verify_trial
from physion.storage.store import TrialStore, read_header
from physion.trial import SPLITS
from pipelines.stages.context import RunContext

log = logging.getLogger(__name__)


def run(ctx: RunContext) -> dict[str, Any]:
    data, model = ctx.config.data, ctx.config.model
    if data.source == "generate":
        from physion.generation.generate_store import (
            generate,  # the physics engine loads only when trials are generated
        )

        try:
            resolution, stride = data.generation(model)
        except ValueError as err:
            raise PhysionDataError(ctx.store, f"cannot generate for this run: {err}") from None
        counts = {s: (data.counts[s] if s in ctx.splits or s == "training" else 0) for s in SPLITS}
        manifest = generate(
            ctx.store,
            scenarios=data.scenarios,
            counts=counts,
            resolution=resolution,
            num_frames=data.num_frames,
            workers=data.workers,
            seed=data.seed,
            max_tries=data.max_tries,
            progress=ctx.progress,
            frame_stride=stride,
        )
        log.info("trial store: %s (%d px, video frames 0, %d, ...)", ctx.store, resolution, stride)
        return {
            "store": str(ctx.store),
            "counts": counts,
            "resolution": resolution,
            "frame_stride": stride,
            "summary": manifest.get("summary", {}),
        }
    store = TrialStore(ctx.store)
    found = {split: {sc: len(store.trials(split, sc)) for sc in ctx.scenario_names()} for split in SPLITS}
    for split in ctx.splits:
        empty = [sc for sc, n in found[split].items() if n == 0]
        if empty:
            raise PhysionDataError(ctx.store, f"no {split} trials for scenario(s) {empty}")
    for split in SPLITS:  # one header per group: the datasets check every file when they open the store
        for scenario, n in found[split].items():
            if n:
                check_serves(read_header(store.trials(split, scenario)[0]), model.resolution, model.frame_offset)
    # Damage inside a file shows only when its bytes are read: read them all now, before the stage is marked
    # finished, rather than let pretraining or extraction die on them stages later.
    used = [
        p
        for split in SPLITS
        if split in ctx.splits or split == "training"
        for sc in ctx.scenario_names()
        for p in store.trials(split, sc)
    ]
    for path in tqdm(used, desc="check store", unit="trial", disable=not ctx.progress):
        verify_trial(path)
    log.info("using the existing trial store %s: %s (every dataset of its %d trials read)", ctx.store, found, len(used))
    return {"store": str(ctx.store), "counts": found}
