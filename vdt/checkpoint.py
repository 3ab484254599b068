"""Loading official VDT / DiT-style checkpoints into our model, and saving our own with their config.

Accepted sources: a raw state dict, or a training checkpoint {"ema": ..., "model": ..., ...} (``ema`` preferred, as
the official sampling scripts do). Keys with a DistributedDataParallel ``module.`` prefix are accepted. Where the
checkpoint was trained at another resolution, ``pos_embed`` is interpolated; at another frame count, the fixed
``time_embed`` is recomputed. Anything else that does not match is refused with the list of offending keys.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F

from vdt.io import save_atomic
from vdt.model import VDT

TEMPORAL_KEYS = ("temporal_norm1", "temporal_attn", "temporal_fc", "time_embed")


class CheckpointMismatchError(ValueError):
    """A checkpoint whose keys or shapes do not fit the model; the message lists them."""


def read_checkpoint(path: str | Path) -> dict:
    """torch.load without running pickled code; DiT-style checkpoints carry an argparse.Namespace, allowed here."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    with torch.serialization.safe_globals([argparse.Namespace]):
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # re-raised with the file named: torch's message alone does not say which file
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise CheckpointMismatchError(f"{path}: not a readable torch checkpoint ({first})") from err
    if not isinstance(obj, dict):
        raise CheckpointMismatchError(
            f"{path}: holds a {type(obj).__name__}, not a checkpoint (a dict of weights, "
            "or one with 'ema'/'model' weights)"
        )
    return obj


def extract_state_dict(obj: dict) -> dict[str, torch.Tensor]:
    """The model weights inside a checkpoint object (prefers the EMA weights)."""
    for key in ("ema", "model", "state_dict"):
        if key in obj and isinstance(obj[key], dict):
            obj = obj[key]
            break
    if not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointMismatchError(
            f"not a state dict nor a checkpoint with 'ema'/'model' weights (top-level keys: {list(obj)[:10]})"
        )
    return {k.removeprefix("module."): v for k, v in obj.items()}


def _resize_pos_embed(table: torch.Tensor, tokens: int) -> torch.Tensor:
    """Bicubic interpolation of a (1, N, D) square-grid table to ``tokens`` positions."""
    old, new = round(table.shape[1] ** 0.5), round(tokens**0.5)
    grid = table.reshape(1, old, old, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid.float(), size=(new, new), mode="bicubic", align_corners=False)
    return grid.permute(0, 2, 3, 1).reshape(1, new * new, -1).to(table.dtype)


def adapt_state_dict(model: VDT, state: dict[str, torch.Tensor], allow_missing_temporal: bool = False) -> dict:
    """Fit ``state`` to ``model`` (resolution and frame count) or raise CheckpointMismatchError listing what differs."""
    state = dict(state)
    ours = model.state_dict()
    if "pos_embed" in state and "pos_embed" in ours and state["pos_embed"].shape != ours["pos_embed"].shape:
        if state["pos_embed"].shape[-1] == ours["pos_embed"].shape[-1]:
            state["pos_embed"] = _resize_pos_embed(state["pos_embed"], ours["pos_embed"].shape[1])
    if "time_embed" in state and "time_embed" in ours and state["time_embed"].shape != ours["time_embed"].shape:
        if state["time_embed"].shape[-1] == ours["time_embed"].shape[-1]:
            state["time_embed"] = ours["time_embed"].clone()  # fixed table: recomputed for our frame count
    missing = [k for k in ours if k not in state]
    if allow_missing_temporal:
        for k in missing:
            if "temporal_fc" in k:
                # The new temporal residual starts closed, so the video model first behaves as the image model.
                state[k] = torch.zeros_like(ours[k])
            elif any(part in k for part in TEMPORAL_KEYS):
                state[k] = ours[k].clone()
        missing = [k for k in ours if k not in state]
    unexpected = [k for k in state if k not in ours]
    wrong = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(ours[k].shape)}"
        for k in ours
        if k in state and state[k].shape != ours[k].shape
    ]
    if missing or unexpected or wrong:
        lines = []
        if missing:
            lines.append(f"missing in checkpoint ({len(missing)}): {', '.join(missing[:20])}")
        if unexpected:
            lines.append(f"not in model ({len(unexpected)}): {', '.join(unexpected[:20])}")
        if wrong:
            lines.append(f"shape mismatch ({len(wrong)}): " + "; ".join(wrong[:20]))
        raise CheckpointMismatchError("checkpoint does not fit this VDT: " + "; ".join(lines))
    return state


def load_weights(model: VDT, source: str | Path | dict, allow_missing_temporal: bool = False) -> VDT:
    """Load an official/DiT-style checkpoint (path or object) into ``model`` with strict=True.

    ``allow_missing_temporal``: load an image-mode (spatial-only) checkpoint into a video model; the temporal layers
    are fresh, with ``temporal_fc`` zeroed so the video model starts out computing the image model frame by frame
    (plus the time table); this is the paper's spatial-temporal decoupled training."""
    obj = read_checkpoint(source) if isinstance(source, (str, Path)) else source
    try:
        state = adapt_state_dict(model, extract_state_dict(obj), allow_missing_temporal)
    except CheckpointMismatchError as err:
        if isinstance(source, (str, Path)):
            raise CheckpointMismatchError(f"{source}: {err}") from None
        raise
    model.load_state_dict(state, strict=True)
    return model


# --------------------------------------------------------------------------------------------------
# Our own checkpoints: weights + the constructor config, so loading needs no guesswork
# --------------------------------------------------------------------------------------------------


def save_model(path: str | Path, model: VDT, ema: VDT | None = None, extra: dict | None = None) -> Path:
    """Atomically write {"config", "model", "ema"?, **extra} (temp file in the same folder, then rename)."""
    payload = {"config": model.config_dict(), "model": model.state_dict(), **(extra or {})}
    if ema is not None:
        payload["ema"] = ema.state_dict()
    return save_atomic(payload, path)


def load_model(path: str | Path, prefer_ema: bool = True, **overrides) -> VDT:
    """Build a VDT from one of our checkpoints (its saved config, updated with ``overrides``) and load its weights."""
    return model_from_checkpoint(read_checkpoint(path), path, prefer_ema, **overrides)


def model_from_checkpoint(obj: dict, path: str | Path = "<checkpoint>", prefer_ema: bool = True, **overrides) -> VDT:
    """``load_model`` for a checkpoint object already read (``path`` only names it in errors)."""
    if "config" not in obj:
        raise CheckpointMismatchError(
            f"{path}: no 'config' entry; for official checkpoints build the model and use load_weights(model, path)"
        )
    model = VDT(**{**obj["config"], **overrides})
    weights = obj["ema"] if prefer_ema and "ema" in obj else obj.get("model")
    try:
        return load_weights(model, weights if isinstance(weights, dict) else {})
    except CheckpointMismatchError as err:
        raise CheckpointMismatchError(f"{path}: {err}") from None
