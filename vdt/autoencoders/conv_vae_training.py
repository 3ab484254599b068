"""Training loop for ConvVAE and the latent scale-factor fit that follows it.

Data is either a tensor of frames (N, 3, H, W) or videos (N, T, 3, H, W), sampled in random batches, or an
iterable of such tensors (e.g. a DataLoader), re-iterated each epoch and re-batched to ``batch_size`` frames.
Values are floats in [-1, 1].
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import Tensor
from torch.nn import functional as F
from tqdm.auto import tqdm

from vdt.autoencoders.conv_vae import ConvVAE

logger = logging.getLogger(__name__)

FrameSource = Tensor | Iterable[Tensor]
RECON_LOSSES = {"l1": F.l1_loss, "mse": F.mse_loss}


@dataclass
class ConvVAEHistory:
    """Per-step losses of a ``train_conv_vae`` run (index i = step i + 1) and the fitted scale factor."""

    loss: list[float] = field(default_factory=list)
    recon: list[float] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)
    scale_factor: float | None = None


def _as_frames(batch: Tensor) -> Tensor:
    """(N, 3, H, W) or (N, T, 3, H, W) float tensor -> (M, 3, H, W); ValueError otherwise."""
    if not isinstance(batch, Tensor):
        raise TypeError(f"ConvVAE training data must yield torch.Tensor batches, got {type(batch).__name__}")
    if batch.ndim == 5:
        batch = batch.flatten(0, 1)
    if batch.ndim != 4 or batch.shape[1] != 3 or not batch.is_floating_point():
        raise ValueError(
            f"ConvVAE training frames must be float (N, 3, H, W) or (N, T, 3, H, W), got {batch.dtype} {tuple(batch.shape)}"
        )
    return batch


def frame_batches(data: FrameSource, batch_size: int, generator: torch.Generator) -> Iterator[Tensor]:
    """Endless stream of (batch_size, 3, H, W) frame batches from a tensor (random epochs) or an iterable."""
    if isinstance(data, Tensor):
        frames = _as_frames(data)
        if len(frames) < batch_size:
            raise ValueError(f"ConvVAE training needs at least batch_size={batch_size} frames, got {len(frames)}")
        return _tensor_batches(frames, batch_size, generator)
    return _rebatched(data, batch_size)


def _tensor_batches(frames: Tensor, batch_size: int, generator: torch.Generator) -> Iterator[Tensor]:
    while True:
        order = torch.randperm(len(frames), generator=generator)
        for start in range(0, len(order) - batch_size + 1, batch_size):
            yield frames[order[start : start + batch_size]]


def _rebatched(data: Iterable[Tensor], batch_size: int) -> Iterator[Tensor]:
    """Re-iterate ``data`` forever, flattening videos to frames and cutting exact ``batch_size`` batches."""
    pending: list[Tensor] = []
    buffered = 0
    while True:
        produced = False
        for batch in data:
            frames = _as_frames(batch)
            pending.append(frames)
            buffered += len(frames)
            while buffered >= batch_size:
                joined = torch.cat(pending)
                produced = True
                yield joined[:batch_size]
                pending, buffered = [joined[batch_size:]], len(joined) - batch_size
        if not produced:  # a one-shot iterator that is used up, or an iterable with fewer frames than one batch
            raise ValueError(
                f"ConvVAE training data ran out: a full pass gave fewer than batch_size={batch_size} frames "
                "(pass a re-iterable such as a DataLoader or list, not a generator)"
            )


def kl_divergence(mean: Tensor, logvar: Tensor) -> Tensor:
    """Mean over latent elements of KL(N(mean, exp(logvar)) || N(0, 1))."""
    return 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar).mean()


def train_conv_vae(
    model: ConvVAE,
    data: FrameSource,
    steps: int,
    lr: float = 1e-3,
    batch_size: int = 32,
    device: str | torch.device = "cpu",
    log_every: int = 50,
    callback: Callable[[int, dict[str, float]], None] | None = None,
    bf16: bool = False,
    kl_weight: float = 1e-4,
    recon_loss: str = "l1",
    weight_decay: float = 0.01,
    scale_frames: int = 1024,
    seed: int = 0,
) -> ConvVAEHistory:
    """Train ``model`` in place with AdamW for ``steps`` steps, then fit its ``scale_factor``.

    Loss = recon_loss(reconstruction, frames) + kl_weight * KL, both means over elements.
    ``callback(step, {"loss", "recon", "kl"})`` runs after every step (step counts from 1); losses are logged
    every ``log_every`` steps. ``bf16`` runs the forward pass under bfloat16 autocast. The scale factor is fitted
    on about ``scale_frames`` frames from ``data`` (whole batches, at least one). Returns the per-step history.
    """
    if recon_loss not in RECON_LOSSES:
        raise ValueError(f"recon_loss must be one of {sorted(RECON_LOSSES)}, got {recon_loss!r}")
    if steps < 1 or batch_size < 1 or log_every < 1:
        raise ValueError(f"steps, batch_size and log_every must be >= 1, got {steps}, {batch_size}, {log_every}")
    device = torch.device(device)
    model.to(device).train()
    reconstruction_loss = RECON_LOSSES[recon_loss]
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)
    batches = frame_batches(data, batch_size, generator)
    history = ConvVAEHistory()

    progress = tqdm(range(1, steps + 1), desc="ConvVAE", unit="step")
    for step in progress:
        frames = next(batches).to(device=device, dtype=torch.float32, non_blocking=True)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            reconstruction, mean, logvar = model(frames)
        recon = reconstruction_loss(reconstruction.float(), frames)
        kl = kl_divergence(mean.float(), logvar.float())
        loss = recon + kl_weight * kl
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

        metrics = {"loss": loss.item(), "recon": recon.item(), "kl": kl.item()}
        for name, value in metrics.items():
            getattr(history, name).append(value)
        if step % log_every == 0 or step == steps:
            progress.set_postfix(loss=f"{metrics['loss']:.4f}", kl=f"{metrics['kl']:.3f}")
            logger.info(
                "ConvVAE step %d/%d: loss %.5f recon %.5f kl %.4f",
                step,
                steps,
                metrics["loss"],
                metrics["recon"],
                metrics["kl"],
            )
        if callback is not None:
            callback(step, metrics)

    model.eval()
    calibration = torch.cat(list(_take_frames(batches, scale_frames, batch_size)))
    history.scale_factor = fit_scale_factor(model, calibration)
    logger.info("ConvVAE scale factor %.5f (1 / std of latents over %d frames)", history.scale_factor, len(calibration))
    return history


def _take_frames(batches: Iterator[Tensor], count: int, batch_size: int) -> Iterator[Tensor]:
    for _ in range(max(1, count // batch_size)):
        yield next(batches)


@torch.no_grad()
def fit_scale_factor(model: ConvVAE, frames: Tensor, chunk_size: int | None = None) -> float:
    """Set and return ``model.scale_factor`` = 1 / std of the unscaled posterior means of ``frames``.

    ``frames``: (N, 3, H, W) or (N, T, 3, H, W) in [-1, 1]. As Stable Diffusion's 0.18215, one global factor over
    all latent elements, so the scaled latents have about unit std.
    """
    frames = _as_frames(frames)
    model.scale_factor = 1.0
    latents = model.encode(frames.unsqueeze(1))
    std = latents.float().std().item()
    if not std > 0:  # also catches NaN
        raise ValueError(f"cannot fit a ConvVAE scale factor: the latents of {len(frames)} frames have std {std}")
    model.scale_factor = 1.0 / std
    return model.scale_factor
