"""The Physion physics-QA run: data -> pretrain -> rollout -> extract -> readout -> report, as one typed config."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, ValidationInfo, field_validator, model_validator

from physion.trial import OBSERVED_FRAMES, SCENARIOS, SPLITS
from pipelines.config.sections import LATENT_SHAPES, LatentConfig, ModelConfig, PretrainConfig, SamplerConfig, Section
from vdt.diffusion import space_timesteps
from vdt.model import COMPILE_MODES

PROTOCOLS = ("only", "all", "all-but-one")
STAGES = ("generate", "pretrain", "rollout", "extract", "readout", "report")
VARIANTS = ("observed", "simulated", "copy-last", "full")
# (feature family, readout kind) pairs a run can fit (each for every variant); ``readout.readouts`` picks
READOUTS = (
    ("vdt", "linear"),
    ("pixels", "linear"),
    ("objects", "linear"),
    ("vdt-objects", "linear"),
    ("slots", "relational"),
    ("pixcells", "relational"),
    ("objects", "relational"),
    ("vdt-objects", "relational"),
)
# The default report leaves the slots out: they bind no object (docs/design.md §4), so a slots row says nothing.
DEFAULT_READOUTS = tuple(f"{family}/{kind}" for family, kind in READOUTS if family != "slots")
# Validation context key: a DataConfig describing a store alone (``vdt-physion generate``), not a run's data.
STORE_ONLY = "store_only"


class DataConfig(Section):
    """Where trials come from: generated here with pybullet (``source: generate``) or an existing store
    (ours, or real Physion imported with ``vdt-physion import-physion``). ``vdt-physion generate`` builds its
    settings with this section too (validated with the context ``STORE_ONLY``: a store alone may leave a split
    empty), so a store made there and one a run makes share their defaults and checks."""

    source: Literal["generate", "store"] = "generate"
    store: Path | None = Field(None, description="an existing trial store (source: store)")
    scenarios: list[str] = Field(
        default_factory=lambda: list(SCENARIOS),
        description="built-in names or plugin specs (module:Class, file.py:Class)",
    )
    counts: dict[str, int] = Field(
        default_factory=lambda: {"training": 40, "readout": 40, "test": 40}, description="trials per scenario per split"
    )
    render_resolution: Annotated[int, Field(ge=8)] | Literal["model"] = Field(
        "model",
        description="pixels the engine renders; 'model' (default): model.resolution, so nothing is "
        "rendered that the run resizes away; a number must be >= model.resolution (frames are never upsampled)",
    )
    frame_stride: Annotated[int, Field(ge=1)] | Literal["model"] = Field(
        "model",
        description="store every k-th video frame only; 'model' (default): model.frame_offset, the frames "
        "the run reads; a number must divide model.frame_offset; 1 keeps every frame. Physics, labels and first "
        "contacts always cover every frame",
    )
    num_frames: int = Field(150, gt=OBSERVED_FRAMES, description="video frames per generated trial (30 fps)")
    workers: int = Field(2, ge=1)
    seed: int = Field(0, ge=0)
    max_tries: int = Field(50, ge=1)

    @field_validator("counts")
    @classmethod
    def _splits(cls, v: dict[str, int], info: ValidationInfo) -> dict[str, int]:
        if set(v) != set(SPLITS):
            raise ValueError(f"counts needs exactly the splits {list(SPLITS)}, got {sorted(v)}")
        if any(n < 0 for n in v.values()):
            raise ValueError(f"counts must be >= 0, got {v}")
        # training may be 0: a run that reads out with a model pretrained elsewhere (evaluate) trains nothing
        if not (info.context or {}).get(STORE_ONLY) and any(v[s] < 1 for s in SPLITS if s != "training"):
            raise ValueError(f"readout and test need at least 1 trial per scenario (training >= 0), got {v}")
        return v

    @field_validator("scenarios")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if not v or len(set(v)) != len(v):
            raise ValueError(f"scenarios must be a non-empty list without repeats, got {v}")
        return v

    @model_validator(mode="after")
    def _source(self) -> "DataConfig":
        if (self.source == "store") != (self.store is not None):
            raise ValueError("data.store is required with source: store, and only used with it")
        return self

    def required_paths(self) -> dict[str, Path]:
        return {} if self.store is None else {"data.store": self.store}

    def rendering(self, model: ModelConfig) -> tuple[int, int]:
        """(render resolution, frame stride) with ``'model'`` resolved against ``model``, unchecked."""
        resolution = model.resolution if self.render_resolution == "model" else self.render_resolution
        stride = model.frame_offset if self.frame_stride == "model" else self.frame_stride
        return resolution, stride

    def generation(self, model: ModelConfig) -> tuple[int, int]:
        """(render resolution, frame stride) of the store generated for a run with ``model``; ValueError when
        such a store could not serve the model (the datasets would refuse it)."""
        resolution, stride = self.rendering(model)
        if model.resolution > resolution:
            raise ValueError(
                f"data.render_resolution ({resolution}) is below model.resolution ({model.resolution}): "
                "frames are never upsampled; render at 'model' or higher"
            )
        if model.frame_offset % stride:
            raise ValueError(
                f"data.frame_stride ({stride}) does not divide model.frame_offset ({model.frame_offset}):"
                " the store would lack frames the run reads; use 'model' or a divisor"
            )
        return resolution, stride


class RolloutConfig(Section):
    """Observe the first 1.5 s (45 frames, subsampled by the model's frame offset), predict the rest."""

    sampler: SamplerConfig = SamplerConfig()
    horizon: int | None = Field(
        None, gt=OBSERVED_FRAMES, description="last video frame to reach (default: trial length)"
    )
    chunk_size: int = Field(32, ge=1, description="trials per resumable unit of work")
    seed: int = Field(0, ge=0)
    context: int | None = Field(
        None,
        ge=1,
        description="given frames per autoregressive window (the rest of the model's window is generated); "
        "none: model.n_given. A model trained with pretrain.n_given_range continues from any count in it",
    )

    def given_frames(self, model: ModelConfig) -> int:
        return self.context if self.context is not None else model.n_given


class SlotConfig(Section):
    """The SlotFormer-style slot-attention module over VDT tokens, trained self-supervised on training clips."""

    num_slots: int = Field(6, ge=2)
    slot_dim: int = Field(64, ge=4)
    iters: int = Field(3, ge=1)
    steps: int = Field(500, ge=1)
    batch_size: int = Field(32, ge=1)
    lr: float = Field(3e-3, gt=0, description="slot attention trains poorly below ~2e-3 in a few hundred steps")
    train_clips: int = Field(64, ge=1, description="training clips whose token grids train the slots")


class ExtractConfig(Section):
    """Per-frame features of the trained VDT (clean input at diffusion step ``timestep``)."""

    blocks: list[int] = Field(default_factory=lambda: [-1], description="block indices (negative from the end)")
    timestep: int = Field(0, ge=0, description="diffusion step the VDT sees while features are read")
    pool_grid: int = Field(2, ge=1, description="token grid pooled to pool_grid x pool_grid cells (keeps where)")
    time_bins: int = Field(4, ge=1, description="frames averaged into this many bins for the linear readout")
    pixel_resolution: int = Field(8, ge=2, description="raw-pixel baseline: frames downsampled to this size")
    slots: SlotConfig = SlotConfig()
    batch_size: int = Field(32, ge=1)
    mixed_precision: Literal["auto", "no", "bf16"] = Field(
        "auto", description="bf16 autocast for the VDT token features; auto: where native (vdt.precision)"
    )
    compile: Literal[COMPILE_MODES] = Field(
        "no", description="torch.compile mode for the VDT while features are read (as pretrain.compile); no = eager"
    )

    @field_validator("blocks")
    @classmethod
    def _some(cls, v: list[int]) -> list[int]:
        if not v:
            raise ValueError("extract.blocks needs at least one block index")
        return v


class RelationalReadoutConfig(Section):
    hidden: int = Field(64, ge=1)
    epochs: int = Field(60, ge=1)
    lr: float = Field(3e-3, gt=0)
    batch_size: int = Field(64, ge=1, description="at most; batches hold at most a quarter of the trials")
    weight_decay: float = Field(0.0, ge=0)
    min_steps: int = Field(400, ge=0, description="optimiser steps at least (epochs are stretched to reach them)")


class ReadoutConfig(Section):
    """physopt's linear readout (per scenario, per feature variant) and the SlotFormer-style relational readout."""

    log10_c: tuple[float, float, int] = Field((-8.0, 8.0, 17), description="C grid: logspace(low, high, n)")
    cv_folds: int = Field(5, ge=2)
    max_iter: int = Field(200, ge=10)
    undersample: bool = True
    validation_fraction: float = Field(
        0.3,
        ge=0.3,
        lt=0.8,
        description="part of the readout split that selects the relational readout's epoch and threshold",
    )
    pca_dims: list[int] = Field(
        default_factory=lambda: [4, 8, 16, 32],
        description="PCA dimensions the linear "
        "readout's CV chooses among (with C); those below the CV training fold are tried",
    )
    max_feature_ratio: float = Field(
        2.0,
        gt=0,
        description="the unreduced features stay a CV candidate only while "
        "they number at most this many times the readout trials",
    )
    bootstrap: int = Field(1000, ge=100)
    relational: RelationalReadoutConfig = RelationalReadoutConfig()
    n_jobs: int = Field(1, ge=1)
    readouts: list[str] = Field(
        default_factory=lambda: list(DEFAULT_READOUTS),
        description="'<family>/<kind>' readouts fitted for every variant, of: "
        + ", ".join(f"{f}/{k}" for f, k in READOUTS),
    )

    @field_validator("readouts")
    @classmethod
    def _known_readouts(cls, v: list[str]) -> list[str]:
        known = {f"{f}/{k}" for f, k in READOUTS}
        unknown = [r for r in v if r not in known]
        if unknown or not v or len(set(v)) != len(v):
            raise ValueError(
                f"readout.readouts must list distinct readouts of {sorted(known)}, got {v}"
                + (f" (unknown: {unknown})" if unknown else "")
            )
        return v

    def linear_kwargs(self) -> dict:
        """The keyword arguments of ``fit_linear_readout`` this section sets (every linear readout fits with them)."""
        return {
            "c_grid": np.logspace(*self.log10_c[:2], int(self.log10_c[2])),
            "cv_folds": self.cv_folds,
            "max_iter": self.max_iter,
            "undersample": self.undersample,
            "n_jobs": self.n_jobs,
            "pca_dims": self.pca_dims,
            "max_feature_ratio": self.max_feature_ratio,
        }

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """The chosen readouts as (family, kind), in the order READOUTS lists them."""
        return [(f, k) for f, k in READOUTS if f"{f}/{k}" in self.readouts]


class V15Config(Section):
    """Physion v1.5's protocol (neuroailab/physion_evaluator; pipelines/physion_v15): the harness's observation
    windows and its one readout over all scenarios, scored per scenario and averaged. Used by ``v15-eval``,
    ``v15-readout`` and ``v15-export``; the staged run does not read it."""

    tasks: list[Literal["ocp", "ocd"]] = Field(
        default_factory=lambda: ["ocp", "ocd"],
        description="ocp: frames up to 15 (collision) / 45 (others); ocd: frames around the contact frame",
    )
    frame_gap: int | None = Field(
        None,
        ge=1,
        description="the harness's frame gap (step = frame_gap // 10 frames); default 10 x model.frame_offset",
    )
    min_frames: int | None = Field(None, ge=1, description="frames per window at least; default model.num_frames")
    blocks: list[int] | None = Field(None, description="VDT blocks whose tokens are read; default extract.blocks")
    pool_grid: int | None = Field(
        None, ge=1, description="token grid pooled to pool_grid x pool_grid cells per frame; default extract.pool_grid"
    )
    c_grid: list[float] = Field(
        default_factory=lambda: [1e-6, 1e-5, 0.01, 0.1, 1.0, 5.0, 10.0, 20.0], description="the harness's C grid"
    )
    cv_folds: int = Field(5, ge=2)
    max_iter: int = Field(20000, ge=10)
    random_state: int = Field(42, ge=0, description="the harness's StratifiedKFold seed")
    float16: bool = Field(True, description="cast features to float16 before fitting, as the harness's reader does")
    per_scenario: bool = Field(True, description="also fit our per-scenario physopt readout on the same features")
    export: list[str] = Field(
        default_factory=lambda: ["vdt_observed", "vdt-objects_observed"],
        description="extract-stage arrays (<family>_<variant>) v15-export writes as harness files",
    )
    batch_size: int = Field(8, ge=1, description="trials per batch in v15-eval")

    @field_validator("tasks", "c_grid")
    @classmethod
    def _some(cls, v: list) -> list:
        if not v or len(set(v)) != len(v):
            raise ValueError(f"needs at least one value and no repeats, got {v}")
        return v

    @field_validator("c_grid")
    @classmethod
    def _positive(cls, v: list[float]) -> list[float]:
        if any(c <= 0 for c in v):
            raise ValueError(f"C values must be positive, got {v}")
        return v


class ReportConfig(Section):
    strips: int = Field(3, ge=0, description="rollout strips per scenario")


class PhysionRunConfig(Section):
    name: str = "physion"
    seed: int = Field(0, ge=0)
    protocol: Literal["only", "all", "all-but-one"] = Field(
        "all",
        description="pretraining scenarios: one model per scenario (only), one for all, or one per held-out scenario",
    )
    data: DataConfig = DataConfig()
    pretrain_data: DataConfig | None = Field(
        None,
        description="mixed runs: where the pretraining (and slot) trials come from, e.g. generated stimuli while "
        "data (readout and test) is imported real Physion, or the reverse; None: data serves every stage",
    )
    latent: LatentConfig = LatentConfig()
    model: ModelConfig = ModelConfig()
    pretrain: PretrainConfig = PretrainConfig()
    rollout: RolloutConfig = RolloutConfig()
    extract: ExtractConfig = ExtractConfig()
    readout: ReadoutConfig = ReadoutConfig()
    report: ReportConfig = ReportConfig()
    v15: V15Config = V15Config()

    @model_validator(mode="after")
    def _consistent(self) -> "PhysionRunConfig":
        m = self.model
        observed = math.ceil(OBSERVED_FRAMES / m.frame_offset)
        if m.n_given > observed:
            raise ValueError(
                f"model.n_given ({m.n_given}) exceeds the {observed} observed frames "
                f"(45 frames at model.frame_offset {m.frame_offset})"
            )
        context = self.rollout.given_frames(m)
        if not context < m.num_frames or context > observed:
            raise ValueError(
                f"rollout.context ({context}) must be below model.num_frames ({m.num_frames}) and at most the "
                f"{observed} observed frames"
            )
        if self.pretrain_data is not None:
            self._check_mixed(self.pretrain_data)
        if self.pretrain.image_steps and m.init_checkpoint is not None:
            raise ValueError(
                "pretrain.image_steps trains the spatial layers from scratch: it does not go with model.init_checkpoint"
            )
        if self.protocol == "all-but-one" and len(self.data.scenarios) < 2:
            raise ValueError("protocol all-but-one needs at least 2 data.scenarios")
        span = (m.num_frames - 1) * m.frame_offset + 1
        if self.data.source == "generate" and span > self.data.num_frames:
            raise ValueError(
                f"a {m.num_frames}-frame window at model.frame_offset {m.frame_offset} spans {span} "
                f"frames, more than data.num_frames ({self.data.num_frames})"
            )
        if (
            self.rollout.horizon is not None
            and self.data.source == "generate"
            and self.rollout.horizon > self.data.num_frames
        ):
            raise ValueError(
                f"rollout.horizon ({self.rollout.horizon}) exceeds data.num_frames ({self.data.num_frames})"
            )
        if self.latent.kind in LATENT_SHAPES:
            channels, down = LATENT_SHAPES[self.latent.kind]
            if m.resolution % down:
                raise ValueError(
                    f"model.resolution ({m.resolution}) must be divisible by the {self.latent.kind} downscale {down}"
                )
            arch = m.architecture()
            latent = m.resolution // down
            if latent % arch["patch_size"]:
                raise ValueError(
                    f"latent size {latent} is not divisible by patch size {arch['patch_size']} "
                    f"(model.size / model.overrides)"
                )
            if latent // arch["patch_size"] < self.extract.pool_grid:
                raise ValueError(
                    f"extract.pool_grid ({self.extract.pool_grid}) exceeds the token grid "
                    f"({latent // arch['patch_size']})"
                )
        if self.data.source == "generate":
            self.data.generation(m)  # a store this run could not read is refused before anything is generated
        if self.extract.pixel_resolution > m.resolution:
            raise ValueError("extract.pixel_resolution must not exceed model.resolution")
        gap = self.v15.frame_gap or 10 * m.frame_offset
        if "ocd" in self.v15.tasks and (-gap) // 10 < -45:
            raise ValueError(f"v15.frame_gap {gap} leaves no OCD frame (the harness's OCD window spans 46 frames)")
        try:
            space_timesteps(self.pretrain.diffusion_steps, self.rollout.sampler.timestep_spacing())
        except ValueError as err:
            raise ValueError(f"rollout.sampler: {err}") from None
        return self

    def _check_mixed(self, pre: DataConfig) -> None:
        if pre.counts["training"] < 1:
            raise ValueError("pretrain_data.counts.training must be >= 1: the pretraining trials come from there")
        if self.data.source == "generate" and self.data.counts["training"] != 0:
            raise ValueError(
                "with pretrain_data, data generates readout and test trials only: set data.counts.training to 0"
            )
        if self.protocol != "all":
            # every readout scenario needs its pretrained group (only: its own; all-but-one: the one holding it out)
            missing = [s for s in self.data.scenarios if s not in pre.scenarios]
            if missing:
                raise ValueError(
                    f"protocol {self.protocol}: the readout scenarios {missing} are not in pretrain_data.scenarios, "
                    "so they have no pretrained model; use protocol all or pretrain on them too"
                )
        m = self.model
        span = (m.num_frames - 1) * m.frame_offset + 1
        if pre.source == "generate":
            if span > pre.num_frames:
                raise ValueError(f"a {span}-frame window exceeds pretrain_data.num_frames ({pre.num_frames})")
            pre.generation(m)

    def pretraining_config(self) -> "PhysionRunConfig":
        """The config of a mixed run's pretraining part: this one with ``pretrain_data`` as its data."""
        if self.pretrain_data is None:
            raise ValueError("not a mixed run: pretrain_data is not set")
        raw = self.model_dump(mode="json")
        raw["data"], raw["pretrain_data"] = raw["pretrain_data"], None
        raw["name"] = f"{self.name}-pretraining"
        return type(self).model_validate(raw)

    def required_paths_mixed(self) -> dict[str, Path]:
        return (
            {}
            if self.pretrain_data is None
            else {f"pretrain_{k}": v for k, v in self.pretrain_data.required_paths().items()}
        )

    # ----------------------------------------------------------------------------------------------
    def pretraining_groups(self, scenarios: list[str]) -> dict[str, list[str]]:
        """Pretrained model name -> the scenario names (as stored) it trains on, following the protocol."""
        if self.protocol == "all":
            return {"all": list(scenarios)}
        if self.protocol == "only":
            return {s: [s] for s in scenarios}
        return {f"all-but-{s}": [o for o in scenarios if o != s] for s in scenarios}

    def group_of(self, scenario: str) -> str:
        """The pretrained model whose features read out ``scenario``."""
        return {"all": "all", "only": scenario}.get(self.protocol, f"all-but-{scenario}")

    def required_paths(self) -> dict[str, Path]:
        return {
            **self.data.required_paths(),
            **self.required_paths_mixed(),
            **self.latent.required_paths(),
            **self.model.required_paths(),
        }
