"""Gaussian diffusion as improved-DDPM / DiT define it: linear betas, learned-range variance trained with MSE + VLB,
and timestep respacing. Masked: only positions with mask = 1 are noised and scored.

What the network predicts is the process's ``prediction``: "eps" (the noise; the official VDT's and DiT's), "v"
(alpha * eps - sigma * x0), "x0" (the clean data), "residual" (x0 minus the nearest wholly given frame, zeros
where a sample gives none: a zero output, as an adaLN-Zero VDT starts, is then exactly copy-last / copy-nearest,
so training only has to learn what moves; docs/design.md §2) or "residual_v" (v of that residual: x0 = prior +
alpha * (x_t - alpha * prior) - sigma * v, so at small t the output is x_t denoised and not a copy the network
must rebuild, and at t near T a zero output is the prior). ``prior_kind="blend"`` measures both residuals from
the linear blend in time of the given frames on either side instead (a frame with given frames on one side only
still takes the nearest: copy-last for prediction), which beats copy-nearest on interpolation. All reach the
same x0 / eps through ``predictions()``, so samplers and the VLB term work for each. ``loss_weighting="min_snr"``
weights each step's loss by min(SNR, gamma) on the x0 scale (Hang et al. 2023), which stops the near-clean steps
from dominating; ``"x0"`` makes every step's loss its x0 error; ``"frame_log"`` makes it the mean over generated frames of
c log(1 + e_f / c), e_f a frame's x0 error (``frame_log_loss``).

Why our own code rather than a library scheduler: diffusers' schedulers cover the sampling steps, but not the
learned-variance VLB training terms nor mask conditioning; tests check our DDIM step against diffusers'.
Shapes: x (B, T, C, H, W); mask (B, T, H, W) with 1 = generate, 0 = given; t (B,) integer steps.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from vdt.masks import PRIOR_KINDS, given_frames_prior

ModelFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def linear_betas(num_steps: int) -> np.ndarray:
    """DDPM's linear schedule, rescaled so any step count spans the same noise range as 1000 steps."""
    scale = 1000 / num_steps
    return np.linspace(scale * 1e-4, scale * 0.02, num_steps, dtype=np.float64)


PREDICTIONS = ("eps", "v", "x0", "residual", "residual_v")
PRIOR_TARGETS = ("residual", "residual_v")  # targets measured from a prior made of the given frames
LOSS_WEIGHTINGS = ("none", "min_snr", "x0", "frame_log")
SPACINGS = ("linspace", "leading", "trailing", "quadratic")


def spacing_string(kind: str, n: int) -> str:
    """The ``space_timesteps`` string of ``n`` steps of spacing ``kind`` (one of SPACINGS)."""
    prefixes = {"linspace": "", "leading": "ddim", "trailing": "trailing", "quadratic": "quad"}
    if kind not in prefixes:
        raise ValueError(f"unknown timestep spacing {kind!r}; choose one of {SPACINGS}")
    return f"{prefixes[kind]}{n}"


def space_timesteps(num_steps: int, spacing: str | int) -> list[int]:
    """Which of ``num_steps`` steps to keep.

    "N" (linspace): N evenly spaced steps, first and last kept, so the last model call is at t = 0;
    "ddimN" (leading): every (num_steps // N)-th step from 0 (the DDIM paper's choice);
    "trailingN": N steps ending at num_steps - 1, evenly spaced down (diffusers' "trailing": the first call sees
    pure noise at the last step); "quadN": t_i = (i / (N - 1))^2 * (num_steps - 1), denser near t = 0 where the
    image's detail is decided (the DDIM paper's quadratic spacing)."""
    spacing = str(spacing)
    if spacing.startswith("trailing"):
        n = int(spacing[len("trailing") :])
        if not 1 <= n <= num_steps:
            raise ValueError(f"cannot keep {n} of {num_steps} steps")
        kept = sorted({int(round(num_steps - i * num_steps / n)) - 1 for i in range(n)})
        if len(kept) != n:
            raise ValueError(f"trailing spacing of {n} steps repeats a step of {num_steps}")
        return kept
    if spacing.startswith("quad"):
        n = int(spacing[len("quad") :])
        if not 2 <= n <= num_steps:
            raise ValueError(f"quadratic spacing needs 2 to {num_steps} steps, got {n}")
        kept = sorted({int(round((i / (n - 1)) ** 2 * (num_steps - 1))) for i in range(n)})
        if len(kept) != n:
            raise ValueError(f"quadratic spacing of {n} steps repeats a step near t = 0 of a {num_steps}-step process")
        return kept
    if spacing.startswith("ddim"):
        n = int(spacing[4:])
        for stride in range(1, num_steps):
            if len(range(0, num_steps, stride)) == n:
                return list(range(0, num_steps, stride))
        raise ValueError(f"cannot keep exactly {n} of {num_steps} steps with a constant stride")
    n = int(spacing)
    if not 1 <= n <= num_steps:
        raise ValueError(f"cannot keep {n} of {num_steps} steps")
    if n == 1:
        return [num_steps - 1]
    return sorted({round(i * (num_steps - 1) / (n - 1)) for i in range(n)})


def _gather(values: np.ndarray, t: torch.Tensor, ndim: int) -> torch.Tensor:
    out = torch.from_numpy(values).to(device=t.device)[t].float()
    return out.view(-1, *([1] * (ndim - 1)))


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-sample mean of (B, T, C, H, W) values over the positions where mask (B, T, H, W) is 1."""
    m = mask.unsqueeze(2).to(values.dtype)
    denom = (m.sum(dim=(1, 2, 3, 4)) * values.shape[2]).clamp(min=1.0)
    return (values * m).sum(dim=(1, 2, 3, 4)) / denom


def normal_kl(mean1, logvar1, mean2, logvar2) -> torch.Tensor:
    return 0.5 * (-1.0 + logvar2 - logvar1 + torch.exp(logvar1 - logvar2) + (mean1 - mean2) ** 2 * torch.exp(-logvar2))


def _approx_standard_normal_cdf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


def discretized_gaussian_log_likelihood(x: torch.Tensor, means: torch.Tensor, log_scales: torch.Tensor) -> torch.Tensor:
    """Log-likelihood of data in [-1, 1] quantised to 256 bins under N(means, exp(log_scales)^2)."""
    centered = x - means
    inv_stdv = torch.exp(-log_scales)
    cdf_plus = _approx_standard_normal_cdf(inv_stdv * (centered + 1.0 / 255.0))
    cdf_min = _approx_standard_normal_cdf(inv_stdv * (centered - 1.0 / 255.0))
    log_cdf_plus = torch.log(cdf_plus.clamp(min=1e-12))
    log_one_minus_cdf_min = torch.log((1.0 - cdf_min).clamp(min=1e-12))
    log_probs = torch.where(
        x < -0.999,
        log_cdf_plus,
        torch.where(x > 0.999, log_one_minus_cdf_min, torch.log((cdf_plus - cdf_min).clamp(min=1e-12))),
    )
    return log_probs


class GaussianDiffusion:
    """A (possibly respaced) diffusion process. ``timestep_map[i]`` is the original step index that the model is
    conditioned on at step i of this process (identity unless respaced)."""

    def __init__(
        self,
        betas: np.ndarray,
        learn_sigma: bool = True,
        timestep_map: list[int] | None = None,
        prediction: str = "eps",
        loss_weighting: str = "none",
        snr_gamma: float = 5.0,
        prior_kind: str = "nearest",
        frame_log_scale: float = 1e-2,
    ):
        if prediction not in PREDICTIONS:
            raise ValueError(f"unknown prediction target {prediction!r}; choose one of {PREDICTIONS}")
        if loss_weighting not in LOSS_WEIGHTINGS:
            raise ValueError(f"unknown loss weighting {loss_weighting!r}; choose one of {LOSS_WEIGHTINGS}")
        if prior_kind not in PRIOR_KINDS:
            raise ValueError(f"unknown residual prior {prior_kind!r}; choose one of {PRIOR_KINDS}")
        if prior_kind != "nearest" and prediction not in PRIOR_TARGETS:
            raise ValueError(
                f"prior_kind {prior_kind!r} is the reference of the {PRIOR_TARGETS} targets, not {prediction!r}"
            )
        self.prediction, self.loss_weighting, self.snr_gamma = prediction, loss_weighting, float(snr_gamma)
        self.prior_kind = prior_kind
        if frame_log_scale <= 0:
            raise ValueError(f"frame_log_scale must be > 0, got {frame_log_scale}")
        self.frame_log_scale = float(frame_log_scale)
        self.betas = betas = np.asarray(betas, dtype=np.float64)
        self.num_timesteps = len(betas)
        self.learn_sigma = learn_sigma
        self.timestep_map = list(timestep_map) if timestep_map is not None else list(range(len(betas)))
        alphas = 1.0 - betas
        self.alphas_cumprod = np.cumprod(alphas)
        self.alphas_cumprod_prev = np.append(1.0, self.alphas_cumprod[:-1])
        self.sqrt_alphas_cumprod = np.sqrt(self.alphas_cumprod)
        self.sqrt_one_minus_alphas_cumprod = np.sqrt(1.0 - self.alphas_cumprod)
        self.sqrt_recip_alphas_cumprod = np.sqrt(1.0 / self.alphas_cumprod)
        self.sqrt_recipm1_alphas_cumprod = np.sqrt(1.0 / self.alphas_cumprod - 1)
        self.posterior_variance = betas * (1.0 - self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        # The posterior variance is 0 at t = 0: use t = 1's value there so the log stays finite (beta_0 for a
        # one-step process: its only step, t = 0, adds no noise, so the value just has to be finite).
        first = self.posterior_variance[1] if len(betas) > 1 else betas[0]
        self.posterior_log_variance_clipped = np.log(np.append(first, self.posterior_variance[1:]))
        self.posterior_mean_coef1 = betas * np.sqrt(self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        self.posterior_mean_coef2 = (1.0 - self.alphas_cumprod_prev) * np.sqrt(alphas) / (1.0 - self.alphas_cumprod)
        self.snr = self.alphas_cumprod / (1.0 - self.alphas_cumprod)

    @classmethod
    def linear(
        cls,
        num_steps: int = 1000,
        learn_sigma: bool = True,
        prediction: str = "eps",
        loss_weighting: str = "none",
        snr_gamma: float = 5.0,
        prior_kind: str = "nearest",
        frame_log_scale: float = 1e-2,
    ) -> "GaussianDiffusion":
        return cls(
            linear_betas(num_steps),
            learn_sigma,
            prediction=prediction,
            loss_weighting=loss_weighting,
            snr_gamma=snr_gamma,
            prior_kind=prior_kind,
            frame_log_scale=frame_log_scale,
        )

    def respace(self, spacing: str | int) -> "GaussianDiffusion":
        """A shorter process over a subset of this one's steps, with the same cumulative alphas at the kept steps."""
        keep = space_timesteps(self.num_timesteps, spacing)
        last, betas = 1.0, []
        for i in keep:
            betas.append(1 - self.alphas_cumprod[i] / last)
            last = self.alphas_cumprod[i]
        return GaussianDiffusion(
            np.array(betas),
            self.learn_sigma,
            [self.timestep_map[i] for i in keep],
            self.prediction,
            self.loss_weighting,
            self.snr_gamma,
            self.prior_kind,
            self.frame_log_scale,
        )

    def record(self) -> dict:
        """What a checkpoint stores so that samplers use the process the model was trained with (the linear
        schedule; see ``from_record``)."""
        if self.timestep_map != list(range(self.num_timesteps)):
            raise ValueError("record the full training process, not a respaced one")
        return {
            "schedule": "linear",
            "steps": self.num_timesteps,
            "learn_sigma": self.learn_sigma,
            "prediction": self.prediction,
            "loss_weighting": self.loss_weighting,
            "snr_gamma": self.snr_gamma,
            # only when not the nearest frame, so records (and model files) from before the option stay the same
            **({"prior_kind": self.prior_kind} if self.prior_kind != "nearest" else {}),
            **({"frame_log_scale": self.frame_log_scale} if self.loss_weighting == "frame_log" else {}),
        }

    @classmethod
    def from_record(cls, record: dict | None, learn_sigma: bool) -> "GaussianDiffusion":
        """The process of ``record``; None (official checkpoints, which carry none) is the official one: 1000
        linear steps, eps prediction."""
        record = dict(record or {"schedule": "linear", "steps": 1000, "prediction": "eps"})
        if record.pop("schedule", "linear") != "linear":
            raise ValueError(f"unknown noise schedule in checkpoint record {record}")
        record.setdefault("learn_sigma", learn_sigma)
        return cls.linear(record.pop("steps"), **record)

    def step_at_or_below(self, model_step: int) -> int:
        """The index of this process's last step whose model timestep is <= ``model_step`` (where a sampler
        started from a noised prior at ``model_step`` begins)."""
        below = [i for i, s in enumerate(self.timestep_map) if s <= model_step]
        if not below:
            raise ValueError(f"no step of this {self.num_timesteps}-step process is at or below t = {model_step}")
        return below[-1]

    def model_timesteps(self, t: torch.Tensor) -> torch.Tensor:
        """Map this process's step indices to those the model was trained on."""
        return torch.tensor(self.timestep_map, device=t.device, dtype=torch.long)[t]

    # ----------------------------------------------------------------------------------------------
    # Forward process and posterior
    # ----------------------------------------------------------------------------------------------

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        noise = torch.randn_like(x0) if noise is None else noise
        return (
            _gather(self.sqrt_alphas_cumprod, t, x0.dim()) * x0
            + _gather(self.sqrt_one_minus_alphas_cumprod, t, x0.dim()) * noise
        )

    def q_posterior(self, x0: torch.Tensor, xt: torch.Tensor, t: torch.Tensor):
        """Mean and log-variance of q(x_{t-1} | x_t, x_0)."""
        mean = (
            _gather(self.posterior_mean_coef1, t, xt.dim()) * x0 + _gather(self.posterior_mean_coef2, t, xt.dim()) * xt
        )
        return mean, _gather(self.posterior_log_variance_clipped, t, xt.dim())

    def predict_x0(self, xt: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        return (
            _gather(self.sqrt_recip_alphas_cumprod, t, xt.dim()) * xt
            - _gather(self.sqrt_recipm1_alphas_cumprod, t, xt.dim()) * eps
        )

    def predict_eps(self, xt: torch.Tensor, t: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        return (_gather(self.sqrt_recip_alphas_cumprod, t, xt.dim()) * xt - x0) / _gather(
            self.sqrt_recipm1_alphas_cumprod, t, xt.dim()
        )

    def prior(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor | None:
        """The residual target's reference, made of the wholly given frames of ``x`` under ``mask`` as
        ``prior_kind`` says (vdt.masks.given_frames_prior: the nearest, or the blend of the two on either side);
        zeros without any; None for the other targets."""
        if self.prediction not in PRIOR_TARGETS:
            return None
        if mask is None:
            return torch.zeros_like(x)
        return given_frames_prior(x, mask, self.prior_kind, missing="zeros")

    def predictions(
        self,
        pred: torch.Tensor,
        xt: torch.Tensor,
        t: torch.Tensor,
        clip_range: tuple | None = None,
        prior: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(x0, eps) implied by the network's prediction ``pred`` (of this process's target) at x_t; ``prior`` is
        the residual target's reference (``self.prior``). With ``clip_range`` = (low, high) (floats or tensors
        that broadcast to x), x0 is clamped and eps made consistent with the clamped x0."""
        pred, n = pred.float(), xt.dim()
        if self.prediction in PRIOR_TARGETS:
            if prior is None:
                raise ValueError(f"the {self.prediction} target needs its prior (GaussianDiffusion.prior(given, mask))")
            prior = prior.float()
        if self.prediction == "eps":
            x0 = self.predict_x0(xt, t, pred)
        elif self.prediction == "x0":
            x0 = pred
        elif self.prediction == "residual":
            x0 = pred + prior
        elif self.prediction == "residual_v":
            a, s = _gather(self.sqrt_alphas_cumprod, t, n), _gather(self.sqrt_one_minus_alphas_cumprod, t, n)
            x0 = prior + a * (xt - a * prior) - s * pred
        else:  # v = alpha * eps - sigma * x0  =>  x0 = alpha * x_t - sigma * v
            x0 = _gather(self.sqrt_alphas_cumprod, t, n) * xt - _gather(self.sqrt_one_minus_alphas_cumprod, t, n) * pred
        if clip_range is not None:
            x0 = torch.maximum(
                torch.minimum(x0, torch.as_tensor(clip_range[1], device=x0.device)),
                torch.as_tensor(clip_range[0], device=x0.device),
            )
        if self.prediction == "eps" and clip_range is None:
            return x0, pred
        return x0, self.predict_eps(xt, t, x0)

    def training_target(
        self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor, prior: torch.Tensor | None = None
    ) -> torch.Tensor:
        if self.prediction == "eps":
            return noise
        if self.prediction == "x0":
            return x0
        if self.prediction == "residual":
            return x0 - prior
        n = x0.dim()
        a, s = _gather(self.sqrt_alphas_cumprod, t, n), _gather(self.sqrt_one_minus_alphas_cumprod, t, n)
        if self.prediction == "residual_v":
            return a * noise - s * (x0 - prior)
        return a * noise - s * x0

    def loss_weights(self, t: torch.Tensor) -> torch.Tensor:
        """(B,) weight of each sample's target MSE, as a weight on the x0 scale divided by how the target's MSE
        scales with the x0 error (eps: SNR, v and residual_v: SNR + 1, x0 and residual: 1). min_snr: min(SNR,
        gamma) on the x0 scale; x0: 1 on the x0 scale (every step's loss is its x0 error)."""
        if self.loss_weighting == "none":
            return torch.ones(t.shape, device=t.device)
        snr = torch.from_numpy(self.snr).to(t.device)[t].float()
        on_x0 = snr.clamp(max=self.snr_gamma) if self.loss_weighting == "min_snr" else torch.ones_like(snr)
        return on_x0 / self.target_error_scale(t)

    def target_error_scale(self, t: torch.Tensor) -> torch.Tensor:
        """(B,) the target's squared error over the x0 estimate's at step t (eps: SNR, v and residual_v: SNR + 1,
        x0 and residual: 1)."""
        snr = torch.from_numpy(self.snr).to(t.device)[t].float()
        return {"eps": snr, "v": snr + 1, "residual_v": snr + 1}.get(self.prediction, torch.ones_like(snr))

    def split_output(self, out: torch.Tensor, channels: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, T, 2C | C, H, W) model output -> (prediction of the target, variance interpolation v in [-1, 1]
        or None).
        ``channels`` (C of the data) is checked when given, so a model/diffusion learn_sigma mismatch fails loudly."""
        if channels is not None and out.shape[2] != channels * (2 if self.learn_sigma else 1):
            raise ValueError(
                f"model output has {out.shape[2]} channels for {channels}-channel data, but this diffusion "
                f"has learn_sigma={self.learn_sigma}: build both with the same learn_sigma"
            )
        if self.learn_sigma:
            eps, v = out.chunk(2, dim=2)
            return eps, v
        return out, None

    def p_mean_variance(
        self,
        out: torch.Tensor,
        xt: torch.Tensor,
        t: torch.Tensor,
        clip_range: tuple | None = None,
        prior: torch.Tensor | None = None,
    ):
        """p(x_{t-1} | x_t) from the model output: mean, log-variance and the implied x0."""
        pred, v = self.split_output(out, xt.shape[2])
        if v is not None:
            min_log = _gather(self.posterior_log_variance_clipped, t, xt.dim())
            max_log = _gather(np.log(self.betas), t, xt.dim())
            frac = (v.float() + 1) / 2
            log_var = frac * max_log + (1 - frac) * min_log
        else:
            # Fixed "large" variance as DDPM: beta_t, except posterior variance at t = 0.
            log_var = _gather(np.log(np.append(self.posterior_variance[1], self.betas[1:])), t, xt.dim())
        x0, _ = self.predictions(pred, xt, t, clip_range, prior)
        mean, _ = self.q_posterior(x0, xt, t)
        return mean, log_var, x0

    # ----------------------------------------------------------------------------------------------
    # Training loss
    # ----------------------------------------------------------------------------------------------

    def training_losses(
        self, model: ModelFn, x0: torch.Tensor, t: torch.Tensor, mask: torch.Tensor, noise: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """Per-sample losses (B,) for the masked objective.

        The model sees x0 at given positions and x_t at generated ones; MSE on the prediction target (weighted per
        step by ``loss_weighting``) and the VLB term (which trains only the variance: the mean goes through a
        stop-gradient) count only where mask = 1.
        """
        noise = torch.randn_like(x0) if noise is None else noise
        m = mask.unsqueeze(2).to(x0.dtype)
        xt = self.q_sample(x0, t, noise)
        x_in = x0 * (1 - m) + xt * m
        out = model(x_in, self.model_timesteps(t))
        pred, v = self.split_output(out, x0.shape[2])
        prior = self.prior(x0, mask)
        target = self.training_target(x0, noise, t, prior)
        if self.loss_weighting == "frame_log":
            terms = {"mse": self.frame_log_loss((target - pred.float()) ** 2, mask, t)}
        else:
            terms = {"mse": _masked_mean((target - pred.float()) ** 2, mask) * self.loss_weights(t)}
        if v is not None:
            frozen = torch.cat([pred.detach(), v], dim=2)
            terms["vb"] = self._vb_terms(frozen, x0, x_in, t, mask, prior) * (self.num_timesteps / 1000.0)
            terms["loss"] = terms["mse"] + terms["vb"]
        else:
            terms["loss"] = terms["mse"]
        return terms

    def frame_log_loss(self, squared: torch.Tensor, mask: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """(B,) the "frame_log" loss: the mean over generated frames of c log(1 + e_f / c), e_f a frame's mean
        squared error on the x0 scale over its generated positions, c = ``frame_log_scale``. Below c it is the x0
        MSE; above, large errors count less, so frames the model nearly gets right (a scene at rest) are not
        traded for the moving ones: the loss follows a mean of per-frame PSNRs (docs/design.md §2).
        squared: (B, T, C, H, W) squared target error; frames without a generated position do not count."""
        m = mask.unsqueeze(2).to(squared.dtype)
        counts = m.sum(dim=(2, 3, 4)) * squared.shape[2]  # (B, T) generated values per frame
        per_frame = (squared * m).sum(dim=(2, 3, 4)) / counts.clamp(min=1.0)
        c = self.frame_log_scale
        loss = c * torch.log1p(per_frame / self.target_error_scale(t)[:, None] / c)
        framed = (counts > 0).to(loss.dtype)
        return (loss * framed).sum(dim=1) / framed.sum(dim=1).clamp(min=1.0)

    def _vb_terms(
        self,
        out: torch.Tensor,
        x0: torch.Tensor,
        xt: torch.Tensor,
        t: torch.Tensor,
        mask: torch.Tensor,
        prior: torch.Tensor | None = None,
    ):
        """KL(q(x_{t-1}|x_t,x_0) || p(x_{t-1}|x_t)) in bits per dimension; the decoder NLL at t = 0."""
        true_mean, true_log_var = self.q_posterior(x0, xt, t)
        mean, log_var, _ = self.p_mean_variance(out, xt, t, prior=prior)
        kl = normal_kl(true_mean, true_log_var, mean, log_var) / math.log(2.0)
        nll = -discretized_gaussian_log_likelihood(x0, mean, 0.5 * log_var) / math.log(2.0)
        per_pos = torch.where((t == 0).view(-1, 1, 1, 1, 1), nll, kl)
        return _masked_mean(per_pos, mask)
