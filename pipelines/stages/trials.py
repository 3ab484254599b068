"""Readout/test trials as the later stages see them: frames 0, k, 2k, ... (k = the model's frame offset) up to
a per-scenario horizon shared by all splits, so feature sizes agree between readout and test."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from physion.datasets import ClipDataset, TrialDataset
from physion.trial import OBSERVED_FRAMES
from pipelines.stages.context import RunContext


def horizon(ctx: RunContext, scenario: str) -> int:
    """Last video frame (exclusive) every trial of ``scenario`` reaches: the config's, else the shortest trial."""
    if ctx.config.rollout.horizon is not None:
        return ctx.config.rollout.horizon
    m = ctx.config.model
    return _shortest(str(ctx.store), scenario, tuple(ctx.splits), m.frame_offset, m.resolution)


@lru_cache(maxsize=None)
def _shortest(store: str, scenario: str, splits: tuple[str, ...], frame_offset: int, resolution: int) -> int:
    # The run's frame offset and resolution: a store keeping only those frames (data.frame_stride) serves them.
    lengths = [
        e.num_frames
        for split in splits
        for e in TrialDataset(
            store,
            split=split,
            num_frames=OBSERVED_FRAMES + 1,
            frame_offset=frame_offset,
            resolution=resolution,
            scenarios=[scenario],
        ).entries
    ]
    return min(lengths)


def trial_dataset(ctx: RunContext, split: str, scenario: str) -> TrialDataset:
    m = ctx.config.model
    return TrialDataset(
        ctx.store,
        split=split,
        num_frames=horizon(ctx, scenario),
        frame_offset=m.frame_offset,
        resolution=m.resolution,
        scenarios=[scenario],
    )


def observed_count(ctx: RunContext) -> int:
    """How many of the subsampled frames fall in the observed 1.5 s."""
    return int(np.sum(np.arange(0, OBSERVED_FRAMES, ctx.config.model.frame_offset) < OBSERVED_FRAMES))


def units(ctx: RunContext, chunk_size: int) -> list[tuple[str, str, int, range]]:
    """(split, scenario, chunk index, trial indices) work units in a fixed global order."""
    out = []
    for split in ctx.splits:
        for scenario in ctx.scenario_names():
            n = len(trial_dataset(ctx, split, scenario))
            out += [
                (split, scenario, i, range(s, min(n, s + chunk_size))) for i, s in enumerate(range(0, n, chunk_size))
            ]
    return out


def clip_dataset(ctx: RunContext, scenarios: list[str], split: str = "training") -> ClipDataset:
    """Random training clips of the model's window (pretraining, the slot module)."""
    m = ctx.config.model
    return ClipDataset(
        ctx.store,
        split=split,
        num_frames=m.num_frames,
        frame_offset=m.frame_offset,
        resolution=m.resolution,
        scenarios=scenarios,
        seed=ctx.config.seed,
    )
