"""Mask-conditioned samplers over a (possibly respaced) GaussianDiffusion: ancestral DDPM, DDIM, and
DPM-Solver++(2M) (Lu et al. 2022, the second-order multistep solver in data-prediction form).

At every step the given positions (mask = 0) are reset to their clean values before the model is called, so the
model always sees the conditioning exactly as in training, and the result returns them unchanged. Every update
below is elementwise in x, so the given positions never leak into the generated ones through the solver state.

Start: pure noise at the process's last step, or (``prior`` + ``start_step``) the prior noised to the forward
process at ``start_step``, from where only the steps at or below it run: a guess of the answer (for prediction,
the last given frame repeated) that the model refines instead of drawing from scratch. It trades diversity for
error: it is a prior, and at small ``start_step`` the result approaches the prior itself (copy-last's error).
"""

from __future__ import annotations

import math

import torch
from tqdm.auto import tqdm

from vdt.diffusion import GaussianDiffusion, ModelFn, _gather

SAMPLERS = ("ddpm", "ddim", "dpmpp2m")


def _condition(x: torch.Tensor, given: torch.Tensor | None, mask: torch.Tensor | None) -> torch.Tensor:
    if given is None or mask is None:
        return x
    m = mask.unsqueeze(2).to(x.dtype)
    return given * (1 - m) + x * m


@torch.no_grad()
def sample(
    model: ModelFn,
    diffusion: GaussianDiffusion,
    shape: tuple[int, ...],
    *,
    given: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    method: str = "ddim",
    eta: float = 0.0,
    clip_range: tuple | None = None,
    noise: torch.Tensor | None = None,
    prior: torch.Tensor | None = None,
    start_step: int | None = None,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    progress: bool = False,
) -> torch.Tensor:
    """Draw x0 of ``shape`` (B, T, C, H, W).

    given:  (B, T, C, H, W) clean values at the positions where ``mask`` (B, T, H, W) is 0 (ignored elsewhere).
    method: "ddpm" (ancestral, learned or fixed variance), "ddim" (``eta`` = 0 is deterministic given ``noise``)
            or "dpmpp2m" (deterministic, second order; good at 8-20 steps).
    clip_range: (low, high) bounds of the data in latent units (e.g. pixels in [-1, 1]); x0 is clamped to them.
    prior, start_step: start from ``prior`` (B, T, C, H, W) noised to the model timestep ``start_step``.
    The number of steps is the diffusion's: respace it (``diffusion.respace("ddim50")``) for fast sampling.
    """
    if method not in SAMPLERS:
        raise ValueError(f"unknown sampler {method!r}; choose one of {SAMPLERS}")
    if (given is None) != (mask is None):
        raise ValueError("pass both `given` and `mask`, or neither")
    if (prior is None) != (start_step is None):
        raise ValueError("pass both `prior` and `start_step`, or neither")

    def randn(like_shape):
        return torch.randn(like_shape, generator=generator, device=generator.device if generator else device).to(device)

    x = (randn(shape) if noise is None else noise.to(device)).float()
    first = diffusion.num_timesteps - 1
    if prior is not None:
        first = diffusion.step_at_or_below(start_step)
        t0 = torch.full((shape[0],), first, device=device, dtype=torch.long)
        x = diffusion.q_sample(prior.to(device).float(), t0, x)
    if given is not None:
        given, mask = given.to(device).float(), mask.to(device).float()
    reference = diffusion.prior(given if given is not None else x, mask)  # the residual target's; else None
    solver_state: list[torch.Tensor] = []
    for i in tqdm(range(first, -1, -1), desc=f"{method} sampling", disable=not progress, leave=False):
        t = torch.full((shape[0],), i, device=device, dtype=torch.long)
        x = _condition(x, given, mask)
        out = model(x, diffusion.model_timesteps(t)).float()
        if method == "ddpm":
            mean, log_var, _ = diffusion.p_mean_variance(out, x, t, clip_range, reference)
            x = mean + torch.exp(0.5 * log_var) * randn(x.shape) if i > 0 else mean
        elif method == "ddim":
            x = _ddim_step(diffusion, out, x, t, i, eta, clip_range, randn, reference)
        else:
            x = _dpmpp2m_step(diffusion, out, x, t, i, clip_range, solver_state, reference)
    return _condition(x, given, mask)


def _ddim_step(diffusion: GaussianDiffusion, out, x, t, i, eta, clip_range, randn, reference=None):
    pred, _ = diffusion.split_output(out, x.shape[2])
    x0, eps = diffusion.predictions(pred, x, t, clip_range, reference)
    a_bar = _gather(diffusion.alphas_cumprod, t, x.dim())
    a_bar_prev = _gather(diffusion.alphas_cumprod_prev, t, x.dim())
    sigma = eta * torch.sqrt((1 - a_bar_prev) / (1 - a_bar)) * torch.sqrt(1 - a_bar / a_bar_prev)
    x_prev = torch.sqrt(a_bar_prev) * x0 + torch.sqrt((1 - a_bar_prev - sigma**2).clamp(min=0)) * eps
    if i > 0 and eta > 0:
        x_prev = x_prev + sigma * randn(x.shape)
    return x_prev


def _dpmpp2m_step(diffusion: GaussianDiffusion, out, x, t, i, clip_range, history: list, reference=None):
    """One DPM-Solver++(2M) step from step i to i - 1 (to the clean data after step 0).

    With alpha = sqrt(a_bar), sigma = sqrt(1 - a_bar), lambda = log(alpha / sigma) and h = lambda_next - lambda:
    x_next = (sigma_next / sigma) x - alpha_next (exp(-h) - 1) D, where D is the current x0 prediction (first order:
    the first step and the last, as diffusers does) or its extrapolation from the previous one with r = h_prev / h,
    D = (1 + 1/(2r)) x0 - 1/(2r) x0_prev. ``history`` carries (x0, lambda) of the previous step between calls."""
    pred, _ = diffusion.split_output(out, x.shape[2])
    x0, _ = diffusion.predictions(pred, x, t, clip_range, reference)
    a_bar = float(diffusion.alphas_cumprod[i])
    lam = 0.5 * (math.log(a_bar) - math.log1p(-a_bar))
    if i == 0:  # the last step lands on sigma = 0: the data prediction itself
        history.clear()
        return x0
    a_next = float(diffusion.alphas_cumprod[i - 1])
    alpha_n, sigma_n, sigma = a_next**0.5, (1 - a_next) ** 0.5, (1 - a_bar) ** 0.5
    lam_next = 0.5 * (math.log(a_next) - math.log1p(-a_next))
    h = lam_next - lam
    d = x0
    if history:
        x0_prev, lam_prev = history
        r = (lam - lam_prev) / h
        d = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * x0_prev
    history[:] = [x0, lam]
    return (sigma_n / sigma) * x - alpha_n * math.expm1(-h) * d
