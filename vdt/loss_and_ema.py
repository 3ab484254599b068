"""The model-side pieces of a VDT training step: the masked diffusion loss over a mixture of tasks, and the EMA of
the weights. The step and the loop (optimiser, schedule, devices, data, logging, checkpoints) are the pipeline's:
``pipelines.training.loop.train_step`` / ``train_vdt``."""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass

import torch

from vdt.diffusion import GaussianDiffusion
from vdt.masks import MaskGenerator
from vdt.model import VDT


def make_ema(model: VDT) -> VDT:
    ema = copy.deepcopy(model).eval()
    ema.requires_grad_(False)
    return ema


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    ema_params = dict(ema.named_parameters())
    for name, param in model.named_parameters():
        if param.requires_grad:
            ema_params[name].lerp_(param.detach().to(ema_params[name].dtype), 1 - decay)


@dataclass
class StepResult:
    loss: torch.Tensor  # scalar, differentiable
    per_sample: torch.Tensor  # (B,) detached total loss
    tasks: torch.Tensor  # (B,) indices into vdt.masks.TASKS


def masked_loss(
    model: VDT,
    diffusion: GaussianDiffusion,
    x0: torch.Tensor,
    masks: MaskGenerator,
    generator: torch.Generator | None = None,
    y: torch.Tensor | None = None,
    amp_dtype: torch.dtype | None = None,
) -> StepResult:
    """One batch of the unified objective: draw a task and mask per sample and a diffusion step per sample,
    then the masked MSE + VLB. x0: (B, T, C, H, W) clean latents."""
    b = x0.shape[0]
    mask, tasks = masks(b, generator=generator, device=x0.device)
    t = torch.randint(0, diffusion.num_timesteps, (b,), generator=generator).to(x0.device)
    noise = torch.randn(x0.shape, generator=generator).to(x0.device)
    ctx = torch.autocast(x0.device.type, dtype=amp_dtype) if amp_dtype else contextlib.nullcontext()

    def fn(x, steps):
        with ctx:
            return model(x, steps, y)

    terms = diffusion.training_losses(fn, x0, t, mask, noise)
    return StepResult(terms["loss"].mean(), terms["loss"].detach(), tasks)
