"""Stage 3: for every readout and test trial, observe the first 1.5 s and predict the rest autoregressively.

Work is cut into chunks of trials (``rollout/<split>/<scenario>/chunk-NNNN.pt``, each written atomically); a
rerun only does missing chunks. ``--shard I/N`` (array jobs) and the processes of ``accelerate launch`` each take
a contiguous block of the chunks (``pipelines.distributed``); the stage is marked done once every chunk exists.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from tqdm.auto import tqdm

from pipelines.distributed import process_state, shard_block, worker_shard
from pipelines.stages import trials as trial_sets
from pipelines.stages.context import RunContext
from pipelines.stages.layout import rollout_chunk, rollout_chunks
from pipelines.training import TrainedVDT, load_trained
from vdt.io import save_atomic
from vdt.model import compile_vdt
from vdt.precision import autocast_dtype
from vdt.video_tasks import rollout as vdt_rollout

log = logging.getLogger(__name__)


class ShardIncomplete(RuntimeError):
    """This shard finished, other shards' chunks are still missing."""


def run(ctx: RunContext) -> dict[str, Any]:
    c = ctx.config
    state = process_state()
    all_units = trial_sets.units(ctx, c.rollout.chunk_size)
    worker, workers = worker_shard(ctx.shard, state.process_index, state.num_processes)
    mine = [all_units[i] for i in shard_block(len(all_units), worker, workers)]
    todo = [u for u in mine if not rollout_chunk(ctx, u[0], u[1], u[2]).is_file()]
    log.info(
        "rollout: %d chunks in all, %d for this process, %d to do (device %s)",
        len(all_units),
        len(mine),
        len(todo),
        state.device,
    )

    sampler = c.rollout.sampler
    amp = autocast_dtype(sampler.mixed_precision, state.device)
    n_obs = trial_sets.observed_count(ctx)
    models: dict[str, TrainedVDT] = {}
    trials_done = 0
    for split, scenario, index, members in tqdm(todo, desc="rollout", unit="chunk", disable=not ctx.progress):
        group = ctx.group_of(scenario)
        if group not in models:
            models[group] = load_trained(ctx.model_path(scenario), c.latent, state.device)
            compile_vdt(models[group].model, sampler.compile, scope="forward")  # sampling calls forward only
        trained = models[group]
        space = trained.space
        dataset = trial_sets.trial_dataset(ctx, split, scenario)
        items = [dataset[i] for i in members]
        frames = torch.stack([it["frames"] for it in items]).to(state.device)
        latents = space.encode(frames)
        future = frames.shape[1] - n_obs
        g = torch.Generator(device=state.device).manual_seed(
            c.rollout.seed * 1_000_003 + index * 101 + hash_split(split, scenario)
        )
        predicted = vdt_rollout(
            trained.model,
            trained.diffusion.respace(sampler.timestep_spacing()),
            latents[:, :n_obs],
            future,
            n_given=c.rollout.given_frames(c.model),
            **sampler.sample_kwargs(),
            clip_range=space.value_range,
            generator=g,
            amp_dtype=amp,
        )
        # How good the rollout is, in pixels, against the no-model baseline of repeating the last observed frame.
        future_frames = frames[:, n_obs:]
        decoded = space.decode(predicted).float()
        mse_model = ((decoded - future_frames) ** 2).mean(dim=(1, 2, 3, 4))
        mse_copy = ((frames[:, n_obs - 1 : n_obs] - future_frames) ** 2).mean(dim=(1, 2, 3, 4))
        last = frames[:, n_obs - 1 : n_obs].float()
        save_atomic(
            {
                "names": [it["name"] for it in items],
                "predicted": predicted.half().cpu(),
                "mse_model": mse_model.cpu(),
                "mse_copy_last": mse_copy.cpu(),
                "frame_change_std_model": frame_change_std(torch.cat([last, decoded], dim=1)).cpu(),
                "frame_change_std_true": frame_change_std(torch.cat([last, future_frames.float()], dim=1)).cpu(),
                "observed_frames": n_obs,
                "frame_offset": c.model.frame_offset,
            },
            rollout_chunk(ctx, split, scenario, index),
        )
        trials_done += len(items)
    state.wait_for_everyone()
    missing = [u for u in all_units if not rollout_chunk(ctx, u[0], u[1], u[2]).is_file()]
    if missing:
        raise ShardIncomplete(
            f"rollout: this shard is done; {len(missing)} chunk(s) of other shards are still "
            f"missing in {ctx.stage_dir('rollout')}; rerun without --shard once they exist"
        )
    errors, changes, errors_by_split = rollout_summaries(ctx)
    return {
        "chunks": len(all_units),
        "observed_frames": n_obs,
        "sampler": c.rollout.sampler.model_dump(),
        "pixel_mse": errors,
        # Sampler, context and fine-tuning choices read the readout split's figures, never the test split's.
        "pixel_mse_by_split": errors_by_split,
        "frame_change_std": changes,
        "horizons": {sc: trial_sets.horizon(ctx, sc) for sc in ctx.scenario_names()},
        "trials_rolled_out_here": trials_done,
    }


def rollout_summaries(ctx: RunContext) -> tuple[dict, dict, dict]:
    """From one read of every rollout chunk: per scenario, pooled over the splits, (pixel MSE of the predicted
    frames and of copying the last observed frame, with the trial count; the mean frame-to-frame change std of the
    rollouts, from the last observed frame on, and of the true videos over the same frames), and the first of these
    per split (split -> scenario -> errors). Scenarios whose chunks predate the change statistic are left out of the
    second."""
    errors, changes = {}, {}
    errors_by_split: dict[str, dict] = {split: {} for split in ctx.splits}
    for scenario in ctx.scenario_names():
        by_split = {
            split: [torch.load(p, weights_only=True) for p in rollout_chunks(ctx, split, scenario)]
            for split in ctx.splits
        }
        for split, chunks in by_split.items():
            errors_by_split[split][scenario] = mse_summary(chunks)
        chunks = [ch for split_chunks in by_split.values() for ch in split_chunks]
        errors[scenario] = mse_summary(chunks)
        if chunks and all("frame_change_std_model" in ch for ch in chunks):
            model = chunk_mean(chunks, "frame_change_std_model")
            true = chunk_mean(chunks, "frame_change_std_true")
            changes[scenario] = {"model": model, "true": true, "ratio": model / max(true, 1e-12)}
    return errors, changes, errors_by_split


def chunk_mean(chunks: list[dict], key: str) -> float:
    """Mean of a per-trial value over every trial of ``chunks``."""
    return float(torch.cat([ch[key] for ch in chunks]).mean())


def mse_summary(chunks: list[dict]) -> dict:
    """Pixel MSE of the model's rollouts and of copy-last over the trials of ``chunks``, with their count."""
    return {
        "model": chunk_mean(chunks, "mse_model"),
        "copy_last": chunk_mean(chunks, "mse_copy_last"),
        "trials": sum(len(ch["names"]) for ch in chunks),
    }


def frame_change_std(frames: torch.Tensor) -> torch.Tensor:
    """(B, T, C, H, W) -> (B,) standard deviation of the frame-to-frame differences: speckle (fresh noise in every
    generated frame) shows as a value far above the true videos', blur or a frozen scene as one below."""
    return (frames[:, 1:] - frames[:, :-1]).flatten(1).std(dim=1)


def hash_split(split: str, scenario: str) -> int:
    """A stable small integer per (split, scenario) for seeding (Python's hash() changes between processes)."""
    return sum((i + 1) * ord(ch) for i, ch in enumerate(f"{split}/{scenario}")) % 100_003
