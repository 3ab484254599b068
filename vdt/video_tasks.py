"""One call per generation task on a trained VDT: complete a latent video under a mask (prediction, interpolation,
completion...), and roll out beyond the model's window autoregressively. Batched, on the model's device."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
from tqdm.auto import tqdm

from vdt.diffusion import GaussianDiffusion
from vdt.masks import check_mask, nearest_given_prior, task_mask
from vdt.model import VDT
from vdt.samplers import sample


def model_fn(model: VDT, y: torch.Tensor | None = None, amp_dtype: torch.dtype | None = None):
    """Wrap a VDT as f(x, t) for the samplers, optionally under autocast (bf16 speeds up CPU and GPU sampling)."""
    device_type = next(model.parameters()).device.type

    def fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        ctx = torch.autocast(device_type, dtype=amp_dtype) if amp_dtype else contextlib.nullcontext()
        with ctx:
            labels = None if y is None else y[: x.shape[0]]
            return model(x, t, labels)

    return fn


START_FROM = ("noise", "nearest_given")


@torch.no_grad()
def complete(
    model: VDT,
    diffusion: GaussianDiffusion,
    video: torch.Tensor,
    mask: torch.Tensor | str,
    *,
    method: str = "ddim",
    eta: float = 0.0,
    n_given: int | None = None,
    batch_size: int | None = None,
    clip_range: tuple | None = None,
    start_from: str = "noise",
    start_step: int | None = None,
    noise: torch.Tensor | None = None,
    generator: torch.Generator | Callable[[range], torch.Generator] | None = None,
    amp_dtype: torch.dtype | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Fill in the positions where ``mask`` is 1 of a latent ``video`` (B, T, C, H, W).

    ``mask`` is (B, T, H, W) / (T, H, W) of 0 (given) and 1 (generate), or a task name from ``vdt.masks.TASKS``
    ("predict", "interpolation", ...; ``n_given`` sets how many frames predict/backward give). Values of ``video``
    under the mask are ignored. ``clip_range`` = (low, high) clamps the predicted clean video at every step (the
    latent space's ``value_range``: pixels are bounded, VAE latents are not). ``start_from="nearest_given"`` with
    ``start_step`` starts the sampler from the nearest given frame noised to that step (vdt.samplers: a prior).
    ``noise`` (B, T, C, H, W): the starting noise, else drawn from ``generator``. ``generator`` may also be a
    function of a batch's rows (a range) giving that batch's generator, so what a batch draws does not depend on
    the batches before it (with a tensor mask only: a task name draws its mask from one generator).
    Returns (B, T, C, H, W) on the input's device, with the given positions unchanged.
    """
    if start_from not in START_FROM:
        raise ValueError(f"unknown start {start_from!r}; choose one of {START_FROM}")
    if (start_from == "noise") != (start_step is None):
        raise ValueError("start_step goes with start_from='nearest_given' (and only with it)")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    b, t, c, h, w = video.shape
    if noise is not None and tuple(noise.shape) != tuple(video.shape):
        raise ValueError(f"noise has shape {tuple(noise.shape)}, the video {tuple(video.shape)}")
    if isinstance(mask, str):
        if callable(generator):
            raise ValueError("a task-name mask draws from one generator: pass a torch.Generator or a mask tensor")
        mask = task_mask(mask, t, h, w, b, n_given=n_given or max(1, t // 2), generator=generator)
    mask = check_mask(mask, (b, t, h, w))
    step = batch_size or b
    outputs = []
    fn = model_fn(model, amp_dtype=amp_dtype)
    for start in tqdm(range(0, b, step), desc="sampling", disable=not progress, leave=False):
        rows = range(start, min(start + step, b))
        chunk = video[start : start + step].to(device).float()
        m = mask[start : start + step].to(device)
        prior = nearest_given_prior(chunk, m) if start_from == "nearest_given" else None
        outputs.append(
            sample(
                fn,
                diffusion,
                tuple(chunk.shape),
                given=chunk,
                mask=m,
                method=method,
                eta=eta,
                clip_range=clip_range,
                prior=prior,
                start_step=start_step,
                noise=None if noise is None else noise[start : start + step],
                generator=generator(rows) if callable(generator) else generator,
                device=device,
            ).to(video.device)
        )
    model.train(was_training)
    return torch.cat(outputs)


@torch.no_grad()
def rollout(
    model: VDT,
    diffusion: GaussianDiffusion,
    observed: torch.Tensor,
    horizon: int,
    *,
    n_given: int,
    method: str = "ddim",
    eta: float = 0.0,
    batch_size: int | None = None,
    clip_range: tuple | None = None,
    start_from: str = "noise",
    start_step: int | None = None,
    generator: torch.Generator | None = None,
    amp_dtype: torch.dtype | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Predict ``horizon`` frames after ``observed`` (B, T_obs, C, H, W) with a model whose window is
    ``model.num_frames``: each window gives the last ``n_given`` known frames and generates the rest; the newly
    generated frames then become the given ones of the next window. Sampler options are ``complete``'s.
    Returns (B, horizon, C, H, W)."""
    window = model.num_frames
    if not 0 < n_given < window:
        raise ValueError(f"n_given must be in [1, {window - 1}] for a {window}-frame model, got {n_given}")
    if observed.shape[1] < n_given:
        raise ValueError(f"rollout needs at least n_given={n_given} observed frames, got {observed.shape[1]}")
    b, _, c, h, w = observed.shape
    context = observed[:, -n_given:]
    produced: list[torch.Tensor] = []
    n_new = window - n_given
    remaining = horizon
    bar = tqdm(total=horizon, desc="rollout frames", disable=not progress, leave=False)
    while remaining > 0:
        video = torch.cat([context, torch.zeros(b, n_new, c, h, w, dtype=context.dtype, device=context.device)], dim=1)
        filled = complete(
            model,
            diffusion,
            video,
            "predict",
            n_given=n_given,
            method=method,
            eta=eta,
            batch_size=batch_size,
            clip_range=clip_range,
            start_from=start_from,
            start_step=start_step,
            generator=generator,
            amp_dtype=amp_dtype,
        )
        take = min(n_new, remaining)
        produced.append(filled[:, n_given : n_given + take])
        remaining -= take
        bar.update(take)
        context = filled[:, -n_given:]
    bar.close()
    return torch.cat(produced, dim=1)
