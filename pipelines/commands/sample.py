"""``vdt-physion sample``: generate clips with a trained VDT under any mask task, from given frames or from noise.

Writes OUT/sample_00000.mp4 + .gif per clip, a PNG grid (given input | sample rows) and samples.json (what was
run). ``--shard I/N`` and the processes of ``accelerate launch`` / ``torchrun`` split the clips; every clip is
named by its global index and seeded by it, so shards fill one folder without clashes.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

from physion.atomic import write_json_atomic
from pipelines.config.loading import load_config, validate_config
from pipelines.config.sections import LatentConfig, SamplerConfig
from pipelines.distributed import shard_argument
from pipelines.genbench.config import GenBenchConfig
from pipelines.genbench.generation import ClipGenerator, task_masks
from pipelines.genbench.sampling_io import (
    frame_states,
    load_mask_file,
    read_conditioning,
    write_clip_gif,
    write_clip_mp4,
)
from pipelines.genbench.sharding import placement
from pipelines.reporting.strips import video_strip
from vdt.masks import TASKS

NAME = "sample"
HELP = "generate clips with a trained VDT (any mask task or mask file; from frames or noise); MP4 + GIF + grid"
log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", type=Path, help="a VDT checkpoint written by our training (weights + config)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument(
        "--config",
        type=Path,
        help="a gen config (configs/gen/*.yaml): latent space, sampler, n_given, "
        "frame stride, interpolation stride and diffusion steps come from it unless given below",
    )
    what = p.add_mutually_exclusive_group()
    what.add_argument("--task", choices=TASKS, help="mask task (default: predict with --input, else unconditional)")
    what.add_argument(
        "--mask", type=Path, help="mask file .npy/.pt, (T, h, w) or (B, T, h, w) in latent space, 1 = generate"
    )
    p.add_argument(
        "--input",
        type=Path,
        action="append",
        default=[],
        dest="inputs",
        metavar="PATH",
        help="conditioning video file or frame folder (repeatable; clip i uses input i mod count)",
    )
    p.add_argument("--start", type=int, default=0, help="first source frame of the conditioning clips")
    p.add_argument("--frame-stride", type=int, help="take every k-th source frame (default: config or 1)")
    p.add_argument("--num-samples", type=int, help="clips in total (default: one per input, or 8 from noise)")
    p.add_argument("--n-given", type=int, help="frames given by predict/backward (default: config or T // 2)")
    p.add_argument("--interp-stride", type=int, help="interpolation: every k-th frame given (default: config or 4)")
    p.add_argument(
        "--latent", choices=["pixels", "conv_vae", "sd_vae"], help="latent space (default: config or pixels)"
    )
    p.add_argument("--latent-path", type=Path, help="conv_vae checkpoint or local SD-VAE folder")
    p.add_argument("--method", choices=["ddim", "ddpm"], help="sampler (default: config or ddim)")
    p.add_argument("--steps", type=int, help="respaced sampling steps (default: config or 25)")
    p.add_argument("--eta", type=float, help="DDIM eta (default: config or 0)")
    p.add_argument("--batch-size", type=int, help="clips per forward pass (default: config or 64)")
    p.add_argument(
        "--diffusion-steps",
        type=int,
        help="training diffusion steps of an official checkpoint (ours record theirs; default: config or 1000)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shard", type=shard_argument, metavar="I/N", help="only this shard of the clips")
    p.add_argument("--device", help="torch device (default: cuda:LOCAL_RANK when available, else cpu)")
    p.add_argument("--fps", type=float, default=8.0, help="frame rate of the written MP4s and GIFs")
    p.add_argument("--grid-clips", type=int, default=8, help="clips of this shard shown in the PNG grid")
    p.add_argument("--no-progress", action="store_true")


def _settings(args) -> dict:
    """CLI values over the config's over the defaults."""
    cfg = load_config(args.config, GenBenchConfig) if args.config else None
    latent = cfg.latent if cfg else LatentConfig()
    if args.latent or args.latent_path:
        kind = args.latent or latent.kind
        path = args.latent_path or (latent.path if kind == latent.kind else None)
        latent = validate_config(
            {"kind": kind, "path": path, "chunk_size": latent.chunk_size},
            LatentConfig,
            source="--latent / --latent-path",
        )
    chosen = {"method": args.method, "steps": args.steps, "eta": args.eta, "batch_size": args.batch_size}
    sampler = validate_config(
        {
            **(cfg.sampler if cfg else SamplerConfig()).model_dump(),
            **{k: v for k, v in chosen.items() if v is not None},
        },
        SamplerConfig,
        source="sampler options",
    )
    defaults = (
        {
            "diffusion_steps": cfg.pretrain.diffusion_steps,
            "n_given": cfg.model.n_given,
            "frame_stride": cfg.model.frame_offset,
            "interp_stride": cfg.bench.interp_stride,
        }
        if cfg
        else {"diffusion_steps": None, "n_given": None, "frame_stride": 1, "interp_stride": 4}
    )
    given = {
        "diffusion_steps": args.diffusion_steps,
        "n_given": args.n_given,
        "frame_stride": args.frame_stride,
        "interp_stride": args.interp_stride,
    }
    return {
        "latent": latent,
        "sampler": sampler,
        **{key: given[key] if given[key] is not None else value for key, value in defaults.items()},
    }


def run(args) -> int:
    s = _settings(args)
    where = placement(args.shard, args.device)
    gen = ClipGenerator.from_checkpoint(
        args.checkpoint, s["latent"], s["sampler"], diffusion_steps=s["diffusion_steps"], device=where.device
    )
    t = gen.num_frames
    inputs = [read_conditioning(path, t, s["frame_stride"], args.start, gen.frame_size) for path in args.inputs]
    total = args.num_samples or (len(inputs) or 8)
    mine = where.indices(total)
    if not len(mine):
        log.info("shard %d of %d has no clips (%d in total)", where.index, where.count, total)
        return 0
    task = args.task or ("predict" if inputs else "unconditional")
    if args.mask:
        masks = load_mask_file(args.mask, total, gen.mask_shape)[mine.start : mine.stop]
    else:
        masks = task_masks(
            task, mine, gen.mask_shape, n_given=s["n_given"] or t // 2, interp_stride=s["interp_stride"], seed=args.seed
        )
    given = None
    if inputs:
        given = torch.stack([inputs[i % len(inputs)][0] for i in mine])
        for row, i in enumerate(mine):  # frames past the end of a short input must all be generated
            path, read = args.inputs[i % len(inputs)], inputs[i % len(inputs)][1]
            if read < t and not bool((masks[row, read:] == 1).all()):
                raise ValueError(
                    f"{path}: has {read} frames from frame {args.start} at stride {s['frame_stride']}, "
                    f"but the mask gives frames beyond them (the model's window is {t})"
                )
    elif not bool((masks == 1).all()):
        raise ValueError(f"{args.mask or 'task ' + task} gives frames: pass them with --input")
    clips = gen.generate(masks, given, mine, seed=args.seed, progress=not args.no_progress)

    args.out.mkdir(parents=True, exist_ok=True)
    records, rows = [], []
    scale = gen.space.downscale
    for row, i in enumerate(mine):
        stem = args.out / f"sample_{i:05d}"
        write_clip_mp4(stem.with_suffix(".mp4"), clips[row], args.fps)
        write_clip_gif(stem.with_suffix(".gif"), clips[row], args.fps)
        records.append(
            {
                "index": i,
                "mp4": stem.with_suffix(".mp4").name,
                "gif": stem.with_suffix(".gif").name,
                "input": str(args.inputs[i % len(inputs)]) if inputs else None,
            }
        )
        if row < args.grid_clips:
            colours = frame_states(masks[row])
            if given is not None:  # the input as the model saw it: generated positions in mid grey
                m = masks[row].repeat_interleave(scale, -2).repeat_interleave(scale, -1).unsqueeze(1)
                rows.append((f"given {i}", given[row] * (1 - m), colours))
            rows.append((f"sample {i}", clips[row], colours))
    video_strip(rows, args.out / f"grid{where.tag}.png", label_width=80)
    write_json_atomic(
        args.out / f"samples{where.tag}.json",
        {
            "checkpoint": str(args.checkpoint),
            "task": None if args.mask else task,
            "mask_file": str(args.mask) if args.mask else None,
            "seed": args.seed,
            "total": total,
            "shard": [where.index, where.count],
            "start": args.start,
            "frame_stride": s["frame_stride"],
            "n_given": s["n_given"] or t // 2,
            "interp_stride": s["interp_stride"],
            "latent": s["latent"].kind,
            "sampler": s["sampler"].model_dump(),
            "diffusion_steps": s["diffusion_steps"],
            "clips": records,
        },
    )
    log.info(
        "wrote %d clips (MP4 + GIF), %s and %s to %s",
        len(mine),
        f"grid{where.tag}.png",
        f"samples{where.tag}.json",
        args.out,
    )
    return 0
