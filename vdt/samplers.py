"""Mask-conditioned samplers: ancestral DDPM and DDIM over a (possibly respaced) GaussianDiffusion.

At every step the given positions (mask = 0) are reset to their clean values before the model is called, so the
model always sees the conditioning exactly as in training, and the result returns them unchanged.
"""
from __future__ import annotations

import torch
from tqdm.auto import tqdm

from vdt.diffusion import GaussianDiffusion, ModelFn, _gather

SAMPLERS = ("ddpm", "ddim")


def _condition(x: torch.Tensor, given: torch.Tensor | None, mask: torch.Tensor | None) -> torch.Tensor:
    if given is None or mask is None:
        return x
    m = mask.unsqueeze(2).to(x.dtype)
    return given * (1 - m) + x * m


@torch.no_grad()
def sample(model: ModelFn, diffusion: GaussianDiffusion, shape: tuple[int, ...], *, given: torch.Tensor | None = None,
           mask: torch.Tensor | None = None, method: str = "ddim", eta: float = 0.0, clip_denoised: bool = False,
           noise: torch.Tensor | None = None, generator: torch.Generator | None = None,
           device: torch.device | str = "cpu", progress: bool = False) -> torch.Tensor:
    """Draw x0 of ``shape`` (B, T, C, H, W).

    given:  (B, T, C, H, W) clean values at the positions where ``mask`` (B, T, H, W) is 0 (ignored elsewhere).
    method: "ddpm" (ancestral, learned or fixed variance) or "ddim" (``eta`` = 0 is deterministic given ``noise``).
    The number of steps is the diffusion's: respace it (``diffusion.respace("ddim50")``) for fast sampling.
    """
    if method not in SAMPLERS:
        raise ValueError(f"unknown sampler {method!r}; choose one of {SAMPLERS}")
    if (given is None) != (mask is None):
        raise ValueError("pass both `given` and `mask`, or neither")

    def randn(like_shape):
        return torch.randn(like_shape, generator=generator, device=generator.device if generator else device).to(device)

    x = (randn(shape) if noise is None else noise.to(device)).float()
    if given is not None:
        given, mask = given.to(device).float(), mask.to(device).float()
    steps = list(range(diffusion.num_timesteps))[::-1]
    for i in tqdm(steps, desc=f"{method} sampling", disable=not progress, leave=False):
        t = torch.full((shape[0],), i, device=device, dtype=torch.long)
        x = _condition(x, given, mask)
        out = model(x, diffusion.model_timesteps(t)).float()
        if method == "ddpm":
            mean, log_var, _ = diffusion.p_mean_variance(out, x, t, clip_denoised)
            x = mean + torch.exp(0.5 * log_var) * randn(x.shape) if i > 0 else mean
        else:
            x = _ddim_step(diffusion, out, x, t, i, eta, clip_denoised, randn)
    return _condition(x, given, mask)


def _ddim_step(diffusion: GaussianDiffusion, out, x, t, i, eta, clip_denoised, randn):
    eps, _ = diffusion.split_output(out, x.shape[2])
    x0 = diffusion.predict_x0(x, t, eps)
    if clip_denoised:
        x0 = x0.clamp(-1, 1)
    eps = diffusion.predict_eps(x, t, x0)  # consistent with a clipped x0
    a_bar = _gather(diffusion.alphas_cumprod, t, x.dim())
    a_bar_prev = _gather(diffusion.alphas_cumprod_prev, t, x.dim())
    sigma = eta * torch.sqrt((1 - a_bar_prev) / (1 - a_bar)) * torch.sqrt(1 - a_bar / a_bar_prev)
    x_prev = torch.sqrt(a_bar_prev) * x0 + torch.sqrt((1 - a_bar_prev - sigma**2).clamp(min=0)) * eps
    if i > 0 and eta > 0:
        x_prev = x_prev + sigma * randn(x.shape)
    return x_prev
