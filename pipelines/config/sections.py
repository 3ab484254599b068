"""Config sections every VDT experiment shares (latent space, model, pretraining, sampling). Physion runs and the
generation benchmarks compose them. Every section forbids unknown keys, so a typo is an error, not a default."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vdt.diffusion import LOSS_WEIGHTINGS, PREDICTIONS, PRIOR_TARGETS, SPACINGS, spacing_string
from vdt.masks import OFFICIAL_WEIGHTS, PRIOR_KINDS, TASKS
from vdt.model import COMPILE_MODES, SIZES

# Latent channels and downscale per kind, known without loading weights (conv_vae's come from its checkpoint).
LATENT_SHAPES = {"pixels": (3, 1), "sd_vae": (4, 8)}


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LatentConfig(Section):
    """Where the VDT works: raw pixels, our conv VAE (trained checkpoint) or Stable Diffusion's VAE (local folder)."""

    kind: Literal["pixels", "conv_vae", "sd_vae"] = "pixels"
    path: Path | None = Field(None, description="conv_vae checkpoint file or SD-VAE folder (local; never downloaded)")
    chunk_size: int = Field(64, ge=1, description="frames encoded/decoded at a time")
    normalize: Literal["auto", "fit", "none"] = Field(
        "auto",
        description="per-channel shift/scale of the latents fitted on training clips and saved with the "
        "model (fit), or none; auto = fit for pixels and conv_vae, none for sd_vae (its fixed "
        "0.18215 is the official normalisation, which official checkpoints expect)",
    )

    @model_validator(mode="after")
    def _path_matches_kind(self) -> "LatentConfig":
        if self.kind == "pixels" and self.path is not None:
            raise ValueError("latent.path is only used with kind conv_vae or sd_vae")
        if self.kind != "pixels" and self.path is None:
            raise ValueError(f"latent.path is required for kind {self.kind!r} (a local file or folder)")
        return self

    def required_paths(self) -> dict[str, Path]:
        return {} if self.path is None else {"latent.path": self.path}

    @property
    def fits_normalization(self) -> bool:
        return self.normalize == "fit" or (self.normalize == "auto" and self.kind != "sd_vae")


class ModelConfig(Section):
    """The VDT: a named size (vdt.model.SIZES) with optional overrides, its frame window and conditioning."""

    size: str = "VDT-Ti/4"
    overrides: dict[str, int | float] = Field(default_factory=dict, description="e.g. {depth: 2, hidden_size: 96}")
    resolution: int = Field(32, ge=8, description="frame size in pixels the latent space encodes")
    num_frames: int = Field(8, ge=2, description="the model's window, in (subsampled) frames")
    n_given: int = Field(4, ge=1, description="frames given when predicting; the rest of the window is generated")
    frame_offset: int = Field(3, ge=1, description="take every k-th video frame (the paper: 3)")
    learn_sigma: bool = True
    init_checkpoint: Path | None = Field(None, description="start from these weights (official or ours)")

    @field_validator("size")
    @classmethod
    def _known_size(cls, v: str) -> str:
        if v not in SIZES:
            raise ValueError(f"unknown VDT size {v!r}; known: {', '.join(SIZES)}")
        return v

    @field_validator("overrides")
    @classmethod
    def _known_overrides(cls, v: dict) -> dict:
        allowed = {"depth", "hidden_size", "num_heads", "patch_size", "mlp_ratio"}
        unknown = set(v) - allowed
        if unknown:
            raise ValueError(f"unknown override(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
        return v

    @model_validator(mode="after")
    def _window(self) -> "ModelConfig":
        if self.n_given >= self.num_frames:
            raise ValueError(
                f"model.n_given ({self.n_given}) must be smaller than model.num_frames ({self.num_frames})"
            )
        return self

    def architecture(self) -> dict:
        return {**SIZES[self.size], **self.overrides}

    def required_paths(self) -> dict[str, Path]:
        return {} if self.init_checkpoint is None else {"model.init_checkpoint": self.init_checkpoint}


class PretrainConfig(Section):
    """Unified mask modeling on training clips: AdamW, warm-up + schedule, EMA, clipping, mixed precision,
    gradient accumulation, checkpoints every N steps (resume after a crash)."""

    steps: int = Field(2000, ge=1, description="optimizer steps")
    batch_size: int = Field(32, ge=1, description="clips per step per process (before accumulation)")
    grad_accum: int = Field(1, ge=1)
    lr: float = Field(3e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    warmup_steps: int = Field(100, ge=0)
    schedule: Literal["constant", "cosine"] = "constant"
    ema_decay: float = Field(
        0.995,
        ge=0,
        lt=1,
        description="reached once the plain mean of all steps so far spans 1 / (1 - decay) steps (warm-up)",
    )
    grad_clip: float | None = Field(1.0, gt=0)
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"
    compile: Literal[COMPILE_MODES] = Field(
        "no",
        description="torch.compile mode for the VDT (vdt.model.compile_vdt); no = eager. On our 2-core CPU it gives "
        "1.09x (fp32, VDT-Ti/4) for 20-35 s of compiling (docs/design.md §6), so eager is the default",
    )
    grad_checkpointing: bool = False
    mask_weights: dict[str, float] = Field(default_factory=lambda: dict(OFFICIAL_WEIGHTS))
    n_given_range: tuple[int, int] | None = Field(
        None,
        description="predict/backward draw the given-frame count per sample from [lo, hi] (one model then "
        "continues from any context length); none: always model.n_given",
    )
    interp_stride: int = Field(4, ge=2)
    diffusion_steps: int = Field(1000, ge=10)
    prediction: Literal[PREDICTIONS] = Field(
        "eps",
        description="what the network predicts: eps (official), v, x0, residual (x0 minus the nearest given frame) "
        "or residual_v (v of that residual); saved with the model, samplers follow it (docs/design.md §2)",
    )
    residual_prior: Literal[PRIOR_KINDS] = Field(
        "nearest",
        description="what the residual targets are measured from: nearest (the nearest given frame) or blend (the "
        "linear blend in time of the given frames on either side; prediction still copies the last); saved with "
        "the model (docs/design.md §2)",
    )
    loss_weighting: Literal[LOSS_WEIGHTINGS] = Field(
        "none",
        description="none, min_snr (min(SNR, snr_gamma) on the x0 scale), x0 (every step's loss is its x0 error), "
        "or frame_log (the mean over generated frames of c log(1 + e_f / c), c = frame_log_scale: docs/design.md §2)",
    )
    snr_gamma: float = Field(5.0, gt=0)
    frame_log_scale: float = Field(
        1e-2, gt=0, description="c of loss_weighting: frame_log, a frame's x0-scale MSE in normalised units"
    )
    image_steps: int = Field(
        0,
        ge=0,
        description="spatial-first decoupled training (the paper's): this many steps of an image-mode VDT (no "
        "temporal layers) denoising single frames, then `steps` of video training from its spatial layers; 0: video "
        "only (docs/design.md §2)",
    )
    checkpoint_every: int = Field(250, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    preview_every: int = Field(500, ge=1)
    log_every: int = Field(10, ge=1)
    num_workers: int = Field(0, ge=0, description="DataLoader worker processes")

    @model_validator(mode="after")
    def _prior_needs_a_residual_target(self) -> "PretrainConfig":
        if self.residual_prior != "nearest" and self.prediction not in PRIOR_TARGETS:
            raise ValueError(
                f"residual_prior: {self.residual_prior} is the reference of the {list(PRIOR_TARGETS)} targets; "
                f"prediction is {self.prediction}"
            )
        return self

    @field_validator("mask_weights")
    @classmethod
    def _known_tasks(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = set(v) - set(TASKS)
        if unknown:
            raise ValueError(f"unknown mask task(s) {sorted(unknown)}; known: {list(TASKS)}")
        if any(w < 0 for w in v.values()) or sum(v.values()) <= 0:
            raise ValueError("mask task weights must be >= 0 and not all zero")
        return v


class SamplerConfig(Section):
    """How frames are generated: DDIM, DPM-Solver++(2M) or ancestral DDPM, with respaced steps, from pure noise or
    from the nearest given frame noised to ``start_step`` (a prior: copy-last's error is its floor)."""

    method: Literal["ddim", "ddpm", "dpmpp2m"] = "ddim"
    steps: int = Field(25, ge=1, description="respaced diffusion steps (the paper: 500 DDPM steps)")
    spacing: Literal[("auto",) + SPACINGS] = Field(
        "auto",
        description="which steps: auto = leading for ddim (the DDIM paper's), linspace "
        "for ddpm, trailing for dpmpp2m; or linspace, leading, trailing, quadratic",
    )
    eta: float = Field(0.0, ge=0)
    start_from: Literal["noise", "nearest_given"] = "noise"
    start_step: int | None = Field(
        None, ge=0, description="the model timestep the prior is noised to (start_from: nearest_given)"
    )
    batch_size: int = Field(64, ge=1)
    mixed_precision: Literal["auto", "no", "bf16"] = Field(
        "auto", description="bf16 autocast; auto: bf16 where the device computes it natively (vdt.precision)"
    )
    compile: Literal[COMPILE_MODES] = Field(
        "no",
        description="torch.compile mode for the VDT while sampling, its whole forward as one graph (modes as "
        "pretrain.compile); no = eager",
    )

    @model_validator(mode="after")
    def _start(self) -> "SamplerConfig":
        if (self.start_from == "nearest_given") != (self.start_step is not None):
            raise ValueError("sampler.start_step goes with start_from: nearest_given, and only with it")
        return self

    def timestep_spacing(self) -> str:
        """The vdt.diffusion.space_timesteps string of this section."""
        kind = self.spacing
        if kind == "auto":
            kind = {"ddim": "leading", "ddpm": "linspace", "dpmpp2m": "trailing"}[self.method]
        return spacing_string(kind, self.steps)

    def sample_kwargs(self) -> dict:
        """The keyword arguments of vdt.video_tasks.complete/rollout this section sets."""
        return {
            "method": self.method,
            "eta": self.eta,
            "start_from": self.start_from,
            "start_step": self.start_step,
            "batch_size": self.batch_size,
        }
