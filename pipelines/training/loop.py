"""``train_vdt``: unified mask modeling on a clip dataset, on one CPU, one GPU or many GPUs (``accelerate launch``).

Folder it writes (``out_dir``):
  checkpoints/step-NNNNNNN.pt   model + EMA + optimizer + schedule + step, every ``checkpoint_every`` steps
  model.pt                      the finished EMA model with its config, latent normalisation and diffusion process
                                (pipelines.training.load_trained reads it)
  loss.csv, tensorboard/        loss per mask task every ``log_every`` steps
  previews/step-NNNNNNN.png     given | predicted | true strips of a few fixed clips
  spatial/                      with pretrain.image_steps: the image-mode phase, a folder of this same layout
A rerun resumes from the newest checkpoint: the step count continues and nothing before it is redone.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from torch.utils.data import DataLoader, Dataset, RandomSampler
from tqdm.auto import tqdm

from pipelines.config.loading import ConfigError, validate_config
from pipelines.config.sections import LatentConfig, ModelConfig, PretrainConfig, SamplerConfig
from pipelines.distributed import force_cpu
from pipelines.training.checkpoints import checkpoint_path, latest_checkpoint, prune_checkpoints, spatial_phase_dir
from pipelines.training.loss_log import LossLog, truncate_csv
from pipelines.training.model_factory import (
    DIFFUSION_KEY,
    LATENT_NORM_KEY,
    build_diffusion,
    build_latent,
    build_vdt,
    checkpoint_extras,
    fit_normalization,
)
from pipelines.training.previews import write_preview
from pipelines.training.schedule import warmup_schedule
from vdt.autoencoders import NormalizedSpace
from vdt.checkpoint import read_checkpoint, save_model
from vdt.diffusion import GaussianDiffusion
from vdt.loss_and_ema import StepResult, make_ema, masked_loss, update_ema
from vdt.masks import TASKS, MaskGenerator
from vdt.model import compile_vdt

log = logging.getLogger(__name__)


NORMALIZATION_CLIPS = 64  # training clips the latent normalisation is fitted on


EMA_WINDOW_FRACTION = 0.2


def ema_decay_at(step: int, decay: float) -> float:
    """The EMA averages about the last fifth of the steps so far (window 1 + step / 5) until that reaches the
    nominal window 1 / (1 - decay); then ``decay``. A window over all steps so far would keep the first, useless
    weights (measured: at step 300 that EMA rolled out at 1.7x copy-last's error, the raw weights at 1.3x); the
    old (1 + s) / (10 + s) averaged only the last ninth and never reached 0.995 in a short run."""
    return min(decay, 1.0 - 1.0 / (1.0 + EMA_WINDOW_FRACTION * step))


def _check_process(init: dict, pretrain: PretrainConfig, path) -> None:
    """Fine-tuning keeps the diffusion process the initial checkpoint was trained with."""
    record = init.get(DIFFUSION_KEY)
    if record is None:
        return
    mine = {"steps": pretrain.diffusion_steps, "prediction": pretrain.prediction}
    theirs = {k: record[k] for k in mine}
    if mine != theirs:
        raise ConfigError(
            f"{path}: model.init_checkpoint was trained with {theirs}, but pretrain sets {mine}: "
            "set pretrain.prediction / diffusion_steps to the checkpoint's"
        )


def train_step(
    acc: Accelerator,
    vdt: torch.nn.Module,
    ema: torch.nn.Module,
    opt: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    diffusion: GaussianDiffusion,
    x0: torch.Tensor,
    masks: MaskGenerator,
    *,
    grad_clip: float | None,
    ema_decay: float,
    generator: torch.Generator,
) -> StepResult:
    """One micro-batch of unified mask modeling on clean latents ``x0``: loss and backward; on the last micro-batch
    of a gradient accumulation (``acc.sync_gradients``) also clipping, the optimiser and schedule steps and the EMA
    update with ``ema_decay``. The inner step of ``train_vdt`` and of `vdt-physion demo`."""
    with acc.accumulate(vdt):
        result = masked_loss(vdt, diffusion, x0, masks, generator=generator)
        acc.backward(result.loss)
        if acc.sync_gradients and grad_clip:
            acc.clip_grad_norm_(vdt.parameters(), grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
    if acc.sync_gradients:
        schedule.step()
        update_ema(ema, acc.unwrap_model(vdt), decay=ema_decay)
    return result


def _frames(batch) -> torch.Tensor:
    return batch["frames"] if isinstance(batch, dict) else batch


def _check_clip(clip: torch.Tensor, model: ModelConfig) -> None:
    want = (model.num_frames, 3, model.resolution, model.resolution)
    if tuple(clip.shape) != want:
        raise ValueError(
            f"training clips must be (T, 3, H, W) = {want} (model.num_frames, model.resolution), "
            f"got {tuple(clip.shape)}"
        )


def train_vdt(
    dataset: Dataset,
    *,
    model: ModelConfig,
    latent: LatentConfig,
    pretrain: PretrainConfig,
    out_dir: Path,
    seed: int = 0,
    progress: bool = True,
    preview_sampler: SamplerConfig | None = None,
) -> Path:
    """Train (or finish training) a VDT on ``dataset`` (items: (T, 3, H, W) in [-1, 1], or dicts with "frames");
    returns ``out_dir/model.pt``. Previews are drawn with ``preview_sampler`` (the run's sampler; default DDIM-10).
    With ``pretrain.image_steps`` the paper's decoupled schedule: an image-mode VDT first learns single frames in
    ``spatial_phase_dir(out_dir)`` (its own resumable training folder), then the video VDT trains ``pretrain.steps``
    from its spatial layers (and its latent normalisation)."""
    if pretrain.image_steps:
        if model.init_checkpoint is not None:
            raise ConfigError(
                f"pretrain.image_steps trains the spatial layers from scratch, but model.init_checkpoint is set "
                f"({model.init_checkpoint}): set one of them"
            )
        spatial = _train(
            dataset,
            model=model,
            latent=latent,
            pretrain=spatial_phase(pretrain),
            out_dir=spatial_phase_dir(Path(out_dir)),
            seed=seed,
            progress=progress,
            mode="image",
            preview_sampler=preview_sampler,
        )
        raw = {**model.model_dump(mode="json"), "init_checkpoint": str(spatial)}
        model = validate_config(raw, ModelConfig, source=f"{out_dir}: the video phase")
    return _train(
        dataset,
        model=model,
        latent=latent,
        pretrain=pretrain,
        out_dir=out_dir,
        seed=seed,
        progress=progress,
        preview_sampler=preview_sampler,
    )


def spatial_phase(pretrain: PretrainConfig) -> PretrainConfig:
    """The recipe of the image-mode phase: ``image_steps`` steps of ``pretrain``'s, every frame its own image to
    generate (the unconditional task: an image VDT's frames do not see each other, so nothing can be given)."""
    raw = pretrain.model_dump(mode="json")
    raw.update(
        steps=pretrain.image_steps,
        image_steps=0,
        warmup_steps=min(pretrain.warmup_steps, pretrain.image_steps),
        mask_weights={"unconditional": 1.0},
        n_given_range=None,
    )
    return validate_config(raw, PretrainConfig, source="pretrain (the spatial phase of image_steps)")


def _train(
    dataset: Dataset,
    *,
    model: ModelConfig,
    latent: LatentConfig,
    pretrain: PretrainConfig,
    out_dir: Path,
    seed: int,
    progress: bool,
    mode: str = "video",
    preview_sampler: SamplerConfig | None = None,
) -> Path:
    """One training of ``train_vdt`` (``mode`` image: the spatial phase)."""
    out_dir = Path(out_dir)
    final = out_dir / "model.pt"
    if final.is_file():
        log.info("%s exists: training already finished", final)
        return final
    if pretrain.mixed_precision == "fp16" and not torch.cuda.is_available():
        raise ValueError("pretrain.mixed_precision fp16 needs a GPU; use bf16 or no on CPU")
    if len(dataset) == 0:
        raise ValueError("the training dataset is empty")
    _check_clip(_frames(dataset[0]), model)

    acc = Accelerator(
        mixed_precision=pretrain.mixed_precision, gradient_accumulation_steps=pretrain.grad_accum, cpu=force_cpu()
    )
    main = acc.is_main_process
    set_seed(seed)  # the initial weights: the same seed gives the same model in every process and every rerun
    space = build_latent(latent).to(acc.device)
    resume = latest_checkpoint(out_dir)
    state = read_checkpoint(resume[1]) if resume is not None else None
    # The statistics a model was trained with stay with it: a resumed run keeps its own, a fine-tuned one its
    # initial checkpoint's; only a model trained from scratch fits new ones.
    init = read_checkpoint(model.init_checkpoint) if model.init_checkpoint is not None else {}
    _check_process(init, pretrain, model.init_checkpoint)
    inherited = (state or {}).get(LATENT_NORM_KEY) or init.get(LATENT_NORM_KEY)
    if inherited is not None:
        space = NormalizedSpace(space, inherited["shift"], inherited["scale"])
    elif latent.fits_normalization:
        picks = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:NORMALIZATION_CLIPS]
        space = fit_normalization(space, torch.stack([_frames(dataset[int(i)]) for i in picks]).to(acc.device))
    vdt = build_vdt(model, space, init or None, mode=mode)
    vdt.grad_checkpointing = pretrain.grad_checkpointing
    ema = make_ema(vdt)
    compile_vdt(vdt, pretrain.compile)  # after the EMA copy, which stays eager; in place, so state dict keys stay
    opt = torch.optim.AdamW(vdt.parameters(), lr=pretrain.lr, weight_decay=pretrain.weight_decay)
    schedule = warmup_schedule(opt, pretrain.warmup_steps, pretrain.steps, pretrain.schedule)

    start = 0
    if state is not None:
        vdt.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["scheduler"])
        start = int(state["step"])
        log.info("resuming from %s at step %d of %d", resume[1], start, pretrain.steps)
    if main:
        out_dir.mkdir(parents=True, exist_ok=True)
        truncate_csv(out_dir / "loss.csv", start)

    # Every process needs at least one full batch per "epoch": small datasets draw with replacement.
    needed = pretrain.batch_size * acc.num_processes
    sampler = RandomSampler(
        dataset,
        replacement=len(dataset) < needed,
        num_samples=max(len(dataset), needed),
        generator=torch.Generator().manual_seed(seed),
    )
    loader = DataLoader(
        dataset, batch_size=pretrain.batch_size, sampler=sampler, drop_last=True, num_workers=pretrain.num_workers
    )  # not persistent: workers must see set_epoch
    vdt, opt, loader = acc.prepare(vdt, opt, loader)
    ema.to(acc.device)
    diffusion = build_diffusion(pretrain, model)
    extras = checkpoint_extras(space, diffusion)
    h, w = space.latent_size(model.resolution, model.resolution)
    masks = MaskGenerator(
        model.num_frames,
        h,
        w,
        n_given=model.n_given,
        interp_stride=pretrain.interp_stride,
        weights=dict(pretrain.mask_weights),
        n_given_range=pretrain.n_given_range,
    )
    # Masks, steps and noise come from a generator seeded by (seed, process, start step): a resumed run does
    # not replay the draws of the steps before the crash, and processes draw differently.
    g = torch.Generator().manual_seed(seed * 1_000_003 + acc.process_index * 7919 + start)
    preview_clips = torch.stack([_frames(dataset[i]) for i in range(min(2, len(dataset)))])
    logger = LossLog(out_dir, tensorboard=True, resume_step=start) if main else None  # purges, continues the clock

    micro_per_epoch = len(loader)
    step, tick = start, time.time()
    bar = tqdm(total=pretrain.steps, initial=start, desc=f"pretrain {out_dir.name}", disable=not (progress and main))
    epoch = start * pretrain.grad_accum // micro_per_epoch
    skip = start * pretrain.grad_accum % micro_per_epoch
    while step < pretrain.steps:
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(epoch)
        loader.set_epoch(epoch) if hasattr(loader, "set_epoch") else None
        sampler.generator.manual_seed(seed * 7919 + epoch)
        batches = acc.skip_first_batches(loader, skip) if skip else loader
        skip = 0
        for batch in batches:
            with torch.no_grad():
                x0 = space.encode(_frames(batch).to(acc.device))
            result = train_step(
                acc,
                vdt,
                ema,
                opt,
                schedule,
                diffusion,
                x0,
                masks,
                grad_clip=pretrain.grad_clip,
                ema_decay=ema_decay_at(step + 1, pretrain.ema_decay),
                generator=g,
            )
            per_sample, tasks = acc.gather(result.per_sample), acc.gather(result.tasks)
            if logger is not None:
                logger.add(
                    float(result.loss.detach()),
                    {
                        TASKS[int(i)]: (float(per_sample[tasks == i].sum()), int((tasks == i).sum()))
                        for i in tasks.unique()
                    },
                )
            if not acc.sync_gradients:
                continue
            step += 1
            bar.update()
            if logger is not None and (step % pretrain.log_every == 0 or step == pretrain.steps):
                row = logger.row(step, schedule.get_last_lr()[0], time.time() - tick)
                bar.set_postfix(loss=f"{row['loss']:.4f}")
            if step % pretrain.checkpoint_every == 0 or step == pretrain.steps:
                acc.wait_for_everyone()
                if main:
                    save_model(
                        checkpoint_path(out_dir, step),
                        acc.unwrap_model(vdt),
                        ema=ema,
                        extra={
                            "step": step,
                            "optimizer": opt.state_dict(),
                            "scheduler": schedule.state_dict(),
                            **extras,
                        },
                    )
                    prune_checkpoints(out_dir, pretrain.keep_checkpoints)
            if main and (step % pretrain.preview_every == 0 or step == pretrain.steps):
                write_preview(
                    ema,
                    space,
                    diffusion,
                    preview_clips,
                    model.n_given,
                    out_dir / "previews" / f"step-{step:07d}.png",
                    preview_sampler,
                )
            if step >= pretrain.steps:
                break
        epoch += 1
    bar.close()
    acc.wait_for_everyone()
    if logger is not None:
        logger.close()
    if main:
        save_model(final, acc.unwrap_model(vdt), ema=ema, extra={"step": step, **extras})
        log.info(
            "pretraining finished at step %d: %s (loss %s, previews %s)",
            step,
            final,
            out_dir / "loss.csv",
            out_dir / "previews",
        )
    acc.wait_for_everyone()
    return final
