"""`vdt-physion demo`: the CPU quickstart of the VDT core. Trains a small VDT with unified mask modeling on
moving-disc videos, then predicts held-out continuations from their first frames and writes a rollout strip
(given | predicted | true) and the measured error against the copy-the-last-frame baseline."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import torch
from accelerate import Accelerator
from tqdm.auto import tqdm

from physion.atomic import write_json_atomic
from pipelines.distributed import force_cpu
from pipelines.reporting.strips import video_strip
from pipelines.toy_videos import moving_shapes
from pipelines.training.loop import train_step
from pipelines.training.schedule import warmup_schedule
from vdt.checkpoint import load_model, read_checkpoint, save_model
from vdt.diffusion import GaussianDiffusion
from vdt.loss_and_ema import make_ema
from vdt.masks import MaskGenerator
from vdt.model import VDT
from vdt.video_tasks import complete

NAME = "demo"
HELP = "train a small VDT on moving-disc videos on CPU and write a prediction strip (the quickstart)"
log = logging.getLogger(__name__)


def add_arguments(p) -> None:
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder")
    p.add_argument("--steps", type=int, default=2000, help="training steps")
    p.add_argument("--size", type=int, default=8, help="frame size in pixels")
    p.add_argument("--frames", type=int, default=6, help="frames per clip (the model's window)")
    p.add_argument("--given", type=int, default=3, help="frames given when predicting")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (after a 100-step linear warm-up)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-videos", type=int, default=64)
    p.add_argument("--sampling-steps", type=int, default=50, help="DDIM steps for the predictions")


def toy_clips(args, batch: int, generator: torch.Generator) -> torch.Tensor:
    return moving_shapes(
        batch,
        args.frames,
        args.size,
        radius=args.size * 0.15,
        max_speed=args.size / 8,
        bounce=False,
        generator=generator,
    )


def train(args, model: VDT, ckpt: Path) -> VDT:
    """Train (resuming from ``ckpt`` when it holds an unfinished run) with the step of the pipeline's training loop
    (``train_step``) on clips drawn afresh every step, on the CPU; returns the EMA model. Not ``train_vdt`` itself:
    the demo keeps one checkpoint file and no logs, and needs no dataset or config sections."""
    diffusion = GaussianDiffusion.linear(1000)
    masks = MaskGenerator(
        args.frames,
        args.size,
        args.size,
        n_given=args.given,
        weights={"predict": 0.7, "interpolation": 0.1, "backward": 0.1, "spatial_temporal": 0.1},
    )
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    warmup = warmup_schedule(opt, 100, args.steps)
    acc = Accelerator(cpu=force_cpu())  # the model is not prepared: it stays on the CPU
    ema = make_ema(model)
    start = 0
    if ckpt.is_file():
        state = read_checkpoint(ckpt)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["optimizer"])
        warmup.load_state_dict(state["scheduler"])
        start = int(state["step"])
        log.info("resuming training at step %d from %s", start, ckpt)
    g = torch.Generator().manual_seed(args.seed * 7919 + start)
    bar = tqdm(range(start, args.steps), desc="training VDT", initial=start, total=args.steps)
    for step in bar:
        result = train_step(
            acc,
            model,
            ema,
            opt,
            warmup,
            diffusion,
            toy_clips(args, args.batch, g),
            masks,
            grad_clip=1.0,
            ema_decay=0.0 if step < 100 else 0.995,  # the EMA copies the weights during the warm-up
            generator=g,
        )
        bar.set_postfix(loss=f"{result.loss.item():.4f}")
        if (step + 1) % 250 == 0 or step + 1 == args.steps:
            save_model(
                ckpt,
                model,
                ema=ema,
                extra={"step": step + 1, "optimizer": opt.state_dict(), "scheduler": warmup.state_dict()},
            )
    return ema


def centroids(video: torch.Tensor) -> torch.Tensor:
    """(B, F, 3, H, W) in [-1, 1] -> (B, F, 2) centre of the disc in pixels, weighted by brightness^4 (the
    background is black, and the power keeps faint speckles of a generated frame from pulling the centre)."""
    weight = ((video.amax(dim=2) + 1) / 2).clamp(0, 1) ** 4
    h, w = video.shape[-2:]
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    total = weight.sum((-1, -2)).clamp(min=1e-6)
    return torch.stack([(weight * xs).sum((-1, -2)) / total, (weight * ys).sum((-1, -2)) / total], dim=-1)


def evaluate(args, model: VDT) -> tuple[dict, torch.Tensor, torch.Tensor]:
    videos = toy_clips(args, args.eval_videos, torch.Generator().manual_seed(10_000 + args.seed))
    diffusion = GaussianDiffusion.linear(1000).respace(f"ddim{args.sampling_steps}")
    pred = complete(
        model,
        diffusion,
        videos,
        "predict",
        n_given=args.given,
        clip_range=(-1.0, 1.0),
        generator=torch.Generator().manual_seed(1),
        progress=True,
    )
    future, last = videos[:, args.given :], videos[:, args.given - 1 : args.given]
    truth_c = centroids(future)
    metrics = {
        "mse_model": float(((pred[:, args.given :] - future) ** 2).mean()),
        "mse_copy_last": float(((last - future) ** 2).mean()),
        "position_error_px_model": float((centroids(pred[:, args.given :]) - truth_c).norm(dim=-1).mean()),
        "position_error_px_copy_last": float((centroids(last).expand_as(truth_c) - truth_c).norm(dim=-1).mean()),
    }
    return metrics, videos, pred


def run(args) -> int:
    torch.manual_seed(args.seed)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "checkpoint.pt"
    started = time.time()
    model = VDT(
        input_size=args.size,
        patch_size=2,
        in_channels=3,
        hidden_size=64,
        depth=2,
        num_heads=4,
        num_frames=args.frames,
        num_classes=1,
    )
    done = ckpt.is_file() and int(read_checkpoint(ckpt)["step"]) >= args.steps
    ema = load_model(ckpt).eval() if done else train(args, model, ckpt)
    metrics, videos, pred = evaluate(args, ema)
    rows = []
    for i in range(4):
        rows += [(f"true #{i}", videos[i]), (f"predicted #{i}", pred[i])]
    strip = video_strip(rows, out / "prediction_strip.png", given=args.given, scale=8)
    metrics.update(
        steps=args.steps,
        seconds=round(time.time() - started, 1),
        frames=args.frames,
        given=args.given,
        size=args.size,
        params=sum(p.numel() for p in ema.parameters()),
    )
    write_json_atomic(out / "metrics.json", metrics)
    log.info(
        "prediction MSE %.4f vs copy-last %.4f; disc position error %.2f px vs copy-last %.2f px",
        metrics["mse_model"],
        metrics["mse_copy_last"],
        metrics["position_error_px_model"],
        metrics["position_error_px_copy_last"],
    )
    log.info("wrote %s, %s and %s", strip, out / "metrics.json", ckpt)
    return 0
