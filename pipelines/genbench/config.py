"""The generation-benchmark config (``configs/gen/*.yaml``): data, the shared VDT sections, and what to measure.

The data window is the model's: clips of ``model.num_frames`` frames taken every ``model.frame_offset`` source
frames at ``model.resolution`` pixels, so training, sampling and the real clips of every metric agree by
construction. Local paths (data, checkpoint, feature network, latent weights) are checked before any work.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipelines.config.sections import LATENT_SHAPES, LatentConfig, ModelConfig, PretrainConfig, SamplerConfig, Section
from vdt.diffusion import space_timesteps
from vdt.masks import TASKS

# Tasks that give whole frames and generate whole frames: PSNR / SSIM / MSE are defined on their generated frames.
FRAME_METRIC_TASKS = ("predict", "backward", "interpolation", "single_frame", "random_frames")


class VideoDataConfig(Section):
    """A video folder (see pipelines.genbench.video_folder); splits are sub-folders of ``path``."""

    path: Path = Field(description="local dataset folder (never downloaded)")
    builtin: Literal["physion_demo"] | None = Field(
        None, description="generate this built-in dataset at path when missing"
    )
    train_split: str | None = Field(None, description="sub-folder of path that gen-train reads (none: path itself)")
    eval_split: str | None = Field(None, description="sub-folder of path whose clips are the real set of every metric")
    crop: Literal["center", "random"] = Field("center", description="training crop; evaluation always crops the centre")
    clips: Literal["random", "all"] = Field(
        "random", description="one random clip per video per epoch, or every non-overlapping clip"
    )
    skip_bad: bool = Field(False, description="leave unreadable / too-short videos out (listed) instead of stopping")
    group_pattern: str | None = Field(
        None,
        description="regex whose first group names the sequence of an image "
        r"(several sequences per folder), e.g. '^(.+)_\d+_leftImg8bit' for Cityscapes",
    )

    @field_validator("group_pattern")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                if re.compile(v).groups < 1:
                    raise ValueError(f"group_pattern {v!r} needs a capturing group (the sequence name)")
            except re.error as err:
                raise ValueError(f"group_pattern {v!r} is not a valid regex: {err}") from None
        return v

    def split_root(self, split: str | None) -> Path:
        return self.path / split if split else self.path


class FeatureNetConfig(Section):
    """A TorchScript network mapping (B, 3, T, H, W) float videos to (B, F) features. Figures are labelled FVD only
    when ``network`` is "i3d"; any other network's distance is labelled FD[network].

    Input convention (applied by us before the call): frames in ``input_range``, resized to ``resize`` x ``resize``
    (bilinear, antialiased), channels before time; ``call_kwargs`` are passed to forward. For the common
    i3d_torchscript.pt (StyleGAN-V / fvd-comparison): input_range "-1,1", resize 224,
    call_kwargs {rescale: false, resize: false, return_features: true}."""

    network: str = Field("i3d", pattern=r"^[A-Za-z0-9_.\-]+$", description="'i3d' for FVD, or your network's name")
    path: Path = Field(description="local TorchScript file (never downloaded)")
    input_range: Literal["-1,1", "0,1", "0,255"] = "-1,1"
    resize: int | None = Field(224, ge=8, description="square side the frames are resized to (null: keep)")
    frames: int = Field(16, ge=1, description="frames per clip the network sees (FVD: 16)")
    call_kwargs: dict[str, bool | int | float | str] = Field(default_factory=dict)
    batch_size: int = Field(8, ge=1)

    @property
    def label(self) -> str:
        return "FVD" if self.network.lower() == "i3d" else f"FD[{self.network}]"


class BenchConfig(Section):
    """What gen-bench generates and measures."""

    tasks: list[str] = Field(default_factory=lambda: ["unconditional", "predict"])
    n_fake: int = Field(2048, ge=2, description="generated clips per task")
    n_real: int = Field(2048, ge=2, description="real clips for the feature statistics")
    interp_stride: int = Field(4, ge=2, description="interpolation task: every k-th frame is given")
    features: FeatureNetConfig | None = Field(None, description="feature network for FVD (null: no FVD)")
    ssim_window: int = Field(11, ge=1, description="gaussian SSIM window side (odd), sigma 1.5")
    grid_clips: int = Field(4, ge=0, description="clips per task shown in a PNG grid")

    @field_validator("tasks")
    @classmethod
    def _tasks(cls, v: list[str]) -> list[str]:
        unknown = [t for t in v if t not in TASKS]
        if unknown or not v or len(set(v)) != len(v):
            raise ValueError(f"tasks must be a non-empty list without repeats from {list(TASKS)}, got {v}")
        return v

    @field_validator("ssim_window")
    @classmethod
    def _odd(cls, v: int) -> int:
        if v % 2 == 0:
            raise ValueError(f"ssim_window must be odd, got {v}")
        return v


class GenBenchConfig(BaseModel):
    """One generation benchmark: train (gen-train), sample, measure (gen-bench)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    seed: int = Field(0, ge=0)
    out: Path | None = Field(None, description="run folder (default runs/gen/<name>)")
    checkpoint: Path | None = Field(None, description="trained VDT to benchmark (default: what gen-train wrote)")
    data: VideoDataConfig
    latent: LatentConfig = LatentConfig()
    model: ModelConfig = ModelConfig()
    pretrain: PretrainConfig = PretrainConfig()
    sampler: SamplerConfig = SamplerConfig()
    bench: BenchConfig = BenchConfig()

    @model_validator(mode="after")
    def _consistent(self) -> "GenBenchConfig":
        m = self.model
        if self.latent.kind in LATENT_SHAPES:
            down = LATENT_SHAPES[self.latent.kind][1]
            if m.resolution % down:
                raise ValueError(
                    f"model.resolution ({m.resolution}) must be divisible by the {self.latent.kind} downscale {down}"
                )
            if (m.resolution // down) % m.architecture()["patch_size"]:
                raise ValueError(
                    f"latent size {m.resolution // down} is not divisible by the patch size "
                    f"{m.architecture()['patch_size']} (model.size / model.overrides)"
                )
        features = self.bench.features
        if features is not None and features.frames != m.num_frames:
            raise ValueError(
                f"bench.features.frames ({features.frames}) must equal model.num_frames "
                f"({m.num_frames}): the network scores whole generated clips"
            )
        if self.bench.ssim_window > m.resolution:
            raise ValueError(f"bench.ssim_window ({self.bench.ssim_window}) exceeds model.resolution ({m.resolution})")
        no_given = [task for task in self.bench.tasks if task not in FRAME_METRIC_TASKS]
        if self.sampler.start_from == "nearest_given" and no_given:
            raise ValueError(
                f"sampler.start_from: nearest_given starts from a given frame, but bench.tasks {no_given} give "
                "none: bench them in a run that starts from noise"
            )
        try:
            space_timesteps(self.pretrain.diffusion_steps, self.sampler.timestep_spacing())
        except ValueError as err:
            raise ValueError(f"sampler: {err}") from None
        return self

    @property
    def run_dir(self) -> Path:
        return self.out or Path("runs/gen") / self.name

    def required_paths(self, stage: Literal["train", "bench"] = "bench") -> dict[str, Path]:
        """Local paths a stage needs; the built-in dataset is generated, so its path need not exist yet."""
        paths: dict[str, Path] = {**self.latent.required_paths()}
        if self.data.builtin is None:
            split = self.data.train_split if stage == "train" else self.data.eval_split
            key = f"data.{'train' if stage == 'train' else 'eval'}_split" if split else "data.path"
            paths[key] = self.data.split_root(split)
        if stage == "train":
            paths.update(self.model.required_paths())
        else:
            if self.checkpoint is not None:
                paths["checkpoint"] = self.checkpoint
            if self.bench.features is not None:
                paths["bench.features.path"] = self.bench.features.path
        return paths
