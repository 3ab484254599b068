"""Stage 4: features of every readout and test trial, for four variants of its frames:

  observed   the first 1.5 s only
  simulated  observed + the VDT's rollout (stage 3)
  copy-last  observed + the last observed frame repeated to the horizon (the control: does the rollout beat
             freezing the scene?)
  full       observed + the true future (the upper bound)

and these feature families: the trained VDT's (token grid pooled to a small grid, binned over time, for the linear
readout; slot entities per frame for the relational readout), raw pixels (downsampled frames; pixel-cell
entities) as the baseline, ``objects`` (the red agent and yellow patient found by colour, features/objects.py)
and ``vdt-objects`` (VDT tokens pooled under those objects' masks). One ``extract/<split>/<scenario>.npz`` per
split and scenario, written atomically; its arrays are named by ``feature_key``.
The slot-attention module is trained first, self-supervised, on token grids of training clips
(``extract/slots-<group>.pt``); evaluate runs reuse the parent run's.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from physion.atomic import atomic_path
from pipelines.config.physion_run import VARIANTS
from pipelines.features.objects import (
    find_objects,
    object_entities,
    object_vectors,
    pool_under_masks,
    vdt_object_entities,
    vdt_object_vectors,
)
from pipelines.features.pixels import pixel_entities, pixel_vectors
from pipelines.features.slots import load_slot_autoencoder, save_slot_autoencoder, slot_entities, train_slot_autoencoder
from pipelines.features.vdt_tokens import frame_tokens, pool_grid, time_bins
from pipelines.stages import trials as trial_sets
from pipelines.stages.context import RunContext
from pipelines.stages.layout import feature_key, features_file, load_predictions, slots_file
from pipelines.training import load_trained
from vdt.model import compile_vdt
from vdt.precision import autocast_dtype

log = logging.getLogger(__name__)
PIXEL_CELLS = 4  # pixel entities: the downsampled frame cut into 4 x 4 cells


def _train_slots(ctx: RunContext, group: str, scenarios: list[str], model, space) -> None:
    path = slots_file(ctx, group)
    if path.is_file():
        return
    e, s = ctx.config.extract, ctx.config.extract.slots
    dataset = trial_sets.clip_dataset(ctx, scenarios)
    picks = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(ctx.config.seed))[: s.train_clips]
    clips = torch.stack([dataset[int(i)] for i in picks])
    tokens = frame_tokens(
        model, space.encode(clips.to(_device(model))), e.blocks, e.timestep, e.batch_size, _amp(e, model)
    )
    log.info(
        "training the slot module of %r on %d token grids of %d training clips",
        group,
        tokens.shape[0] * tokens.shape[1],
        len(clips),
    )
    slots = train_slot_autoencoder(
        tokens.flatten(0, 1),
        num_slots=s.num_slots,
        slot_dim=s.slot_dim,
        iters=s.iters,
        steps=s.steps,
        batch_size=s.batch_size,
        lr=s.lr,
        seed=ctx.config.seed,
        progress=ctx.progress,
    )
    save_slot_autoencoder(slots, path)


def train_slot_modules(ctx: RunContext) -> dict[str, str]:
    """The slot module of every pretrained group of a run that owns its pretraining (a mixed run's pretraining
    part trains them on its training clips, so the readout part never needs a training split)."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    out = {}
    if not wants_slots(ctx):
        return out
    for group, scenarios in ctx.groups().items():
        if not slots_file(ctx, group).is_file():
            trained = load_trained(ctx.stage_dir("pretrain") / group / "model.pt", ctx.config.latent, device)
            _train_slots(ctx, group, scenarios, trained.model, trained.space)
        out[group] = str(slots_file(ctx, group))
    return out


def wants_slots(ctx: RunContext) -> bool:
    """Slots are trained and read only when the run's readouts ask for them (they are out of the default)."""
    return ("slots", "relational") in ctx.config.readout.pairs


def _amp(extract, model) -> torch.dtype | None:
    return autocast_dtype(extract.mixed_precision, _device(model))


def _device(model) -> torch.device:
    return next(model.parameters()).device


def copy_last(observed: torch.Tensor, length: int) -> torch.Tensor:
    """(B, n_obs, ...) -> (B, length, ...): the observed frames, then the last one repeated."""
    pad = observed[:, -1:].expand(observed.shape[0], length - observed.shape[1], *observed.shape[2:])
    return torch.cat([observed, pad], 1)


def trial_features(ctx: RunContext, model, slots, space, frames: torch.Tensor, predicted: torch.Tensor) -> dict:
    """frames (B, L, 3, H, W) true subsampled frames; predicted (B, L - n_obs, C, h, w) rolled-out latents ->
    {feature_key(family, kind, variant): array} for the families vdt, slots, pixels, pixcells, objects,
    vdt-objects. Every variant's pixels go through the same feature code (the rollout's decoded frames too)."""
    e = ctx.config.extract
    n_obs = trial_sets.observed_count(ctx)
    length = frames.shape[1]
    device = _device(model)
    latents = space.encode(frames.to(device)).cpu()
    sequences = {
        "observed": (latents[:, :n_obs], frames[:, :n_obs]),
        "simulated": (
            torch.cat([latents[:, :n_obs], predicted], 1),
            torch.cat([frames[:, :n_obs], space.decode(predicted.to(device)).cpu()], 1),
        ),
        "copy-last": (copy_last(latents[:, :n_obs], length), copy_last(frames[:, :n_obs], length)),
        "full": (latents, frames),
    }
    out = {}
    for variant in VARIANTS:
        lat, pix = sequences[variant]
        tokens = frame_tokens(model, lat, e.blocks, e.timestep, e.batch_size, _amp(e, model))
        objects = find_objects(pix)
        pooled = pool_under_masks(tokens, objects)
        linear = {
            "vdt": time_bins(pool_grid(tokens, e.pool_grid), e.time_bins),
            "pixels": time_bins(pixel_vectors(pix, e.pixel_resolution), e.time_bins),
            "objects": object_vectors(objects, e.time_bins),
            "vdt-objects": vdt_object_vectors(pooled, e.time_bins),
        }
        relational = {
            "pixcells": pixel_entities(pix, e.pixel_resolution, PIXEL_CELLS).half(),
            "objects": object_entities(objects),
            "vdt-objects": vdt_object_entities(pooled).half(),
        }
        if slots is not None:
            relational["slots"] = slot_entities(slots, tokens, seed=ctx.config.seed).half()
        for kind, arrays in (("linear", linear), ("relational", relational)):
            out.update({feature_key(family, kind, variant): a.numpy() for family, a in arrays.items()})
    return out


def run(ctx: RunContext) -> dict[str, Any]:
    c = ctx.config
    if c.extract.pixel_resolution % PIXEL_CELLS:
        raise ValueError(f"extract.pixel_resolution must be a multiple of {PIXEL_CELLS}")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    models, spaces, slot_models = {}, {}, {}
    groups = ctx.groups() if ctx.pretrain_root is None else {}
    written = {}
    for split in ctx.splits:
        for scenario in tqdm(ctx.scenario_names(), desc=f"extract {split}", disable=not ctx.progress):
            path = features_file(ctx, split, scenario)
            if path.is_file():
                continue
            group = ctx.group_of(scenario)
            if group not in models:
                # the model with the latent normalisation it was trained with: rollouts are in its latents
                trained = load_trained(ctx.model_path(scenario), c.latent, device)
                models[group], spaces[group] = compile_vdt(trained.model, c.extract.compile), trained.space
                if wants_slots(ctx):
                    if ctx.pretrain_root is None:
                        _train_slots(ctx, group, groups[group], models[group], spaces[group])
                    slot_models[group] = load_slot_autoencoder(slots_file(ctx, group))
                else:
                    slot_models[group] = None
            dataset = trial_sets.trial_dataset(ctx, split, scenario)
            predictions = load_predictions(ctx, split, scenario)
            names, labels, parts = [], [], []
            for start in range(0, len(dataset), c.extract.batch_size):
                items = [dataset[i] for i in range(start, min(len(dataset), start + c.extract.batch_size))]
                missing = [it["name"] for it in items if it["name"] not in predictions]
                if missing:
                    raise FileNotFoundError(f"{ctx.stage_dir('rollout')}: no rollout for {missing[:3]}; rerun rollout")
                frames = torch.stack([it["frames"] for it in items])
                predicted = torch.stack([predictions[it["name"]] for it in items])
                parts.append(trial_features(ctx, models[group], slot_models[group], spaces[group], frames, predicted))
                names += [it["name"] for it in items]
                labels += [int(it["label"]) for it in items]
            arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
            with atomic_path(path) as tmp:
                with open(tmp, "wb") as f:
                    np.savez(f, names=np.array(names), labels=np.array(labels, dtype=np.int8), **arrays)
    for split in ctx.splits:  # summarise every file, also those an interrupted earlier attempt wrote
        for scenario in ctx.scenario_names():
            with np.load(features_file(ctx, split, scenario)) as f:
                written[f"{split}/{scenario}"] = {
                    "trials": len(f["names"]),
                    "positives": int(f["labels"].sum()),
                    **{k: list(f[k].shape[1:]) for k in f.files if k.endswith("_full")},
                }
    return {"features": written, "variants": list(VARIANTS)}
