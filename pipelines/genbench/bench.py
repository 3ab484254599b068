"""The gen-bench run: for each configured task, generate ``n_fake`` clips with the trained VDT and score them.

Order matters for failing early: local paths (including the feature network's weights) are checked, the feature
network is loaded and the dataset scanned BEFORE anything is generated.

Real clips: ``n_real`` clips of the evaluation split, drawn by a seeded permutation of the dataset (random-clip
datasets are drawn again at the next epoch when more clips than videos are needed; all-clip datasets refuse).
Conditional tasks use the first ``n_fake`` of the same draws as their given frames; their held-out frames are
what PSNR / SSIM / MSE compare with (whole-frame tasks only, generated frames only). The feature distance compares
the ``n_real`` real clips with the ``n_fake`` generated ones (given frames included, as is common for conditional
FVD). Each baseline row also gets the model minus it on the same frames, with a paired interval over videos
(pipelines.genbench.paired). Results: OUT/results.json, OUT/results.md, OUT/grid_<task>.png,
OUT/psnr_per_position.png.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from pipelines.config.loading import preflight
from pipelines.genbench.baselines import BASELINES
from pipelines.genbench.builtin import ensure_physion_demo
from pipelines.genbench.config import FRAME_METRIC_TASKS, GenBenchConfig
from pipelines.genbench.feature_net import FeatureNet
from pipelines.genbench.frame_metrics import score_generated_frames, summarize
from pipelines.genbench.frechet import feature_stats, frechet_distance
from pipelines.genbench.generation import ClipGenerator, task_masks
from pipelines.genbench.paired import paired_difference
from pipelines.genbench.report import write_results
from pipelines.genbench.sampling_io import frame_states
from pipelines.genbench.video_folder import VideoFolder, stack_clips
from pipelines.reporting.strips import video_strip
from vdt.masks import given_frames_prior

log = logging.getLogger(__name__)
TRAINED_MARKER = "trained.json"  # gen-train writes {"checkpoint": path} here in RUN/train/


def resolve_checkpoint(cfg: GenBenchConfig, override: Path | None) -> Path:
    """--checkpoint, else the config's checkpoint, else what gen-train recorded in RUN/train/trained.json."""
    if override is not None or cfg.checkpoint is not None:
        path = Path(override or cfg.checkpoint)
    else:
        marker = cfg.run_dir / "train" / TRAINED_MARKER
        if not marker.is_file():
            raise FileNotFoundError(
                f"no checkpoint to benchmark: set 'checkpoint' in the config, pass --checkpoint, "
                f"or run `vdt-physion gen-train` first (it records one in {marker})"
            )
        path = Path(json.loads(marker.read_text())["checkpoint"])
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    return path


def draw_clips(dataset: VideoFolder, count: int, seed: int) -> list[tuple[int, int]]:
    """``count`` (index, epoch) pairs: a seeded permutation of the dataset, repeated at later epochs if needed."""
    n = len(dataset)
    if count > n and dataset.clips == "all":
        raise ValueError(
            f"{dataset.root}: {count} clips requested but the data has {n} (clips: all); lower "
            "bench.n_real / bench.n_fake or use data.clips: random"
        )
    order = np.random.default_rng([seed, 7]).permutation(n)
    return [(int(order[k % n]), k // n) for k in range(count)]


def load_clips(dataset: VideoFolder, draws: list[tuple[int, int]]) -> torch.Tensor:
    """(len(draws), T, 3, H, W) clips."""
    return stack_clips([dataset.get(index, epoch) for index, epoch in draws])


def run_bench(
    cfg: GenBenchConfig,
    source: str,
    *,
    checkpoint: Path | None = None,
    out: Path | None = None,
    device: str | None = None,
    progress: bool = True,
) -> dict:
    """Run the benchmark a config describes; returns the results (also written to ``out``)."""
    started = time.time()
    preflight(cfg, source, cfg.required_paths("bench"))
    ckpt = resolve_checkpoint(cfg, checkpoint)
    out = Path(out or cfg.run_dir / "bench")
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    net = FeatureNet(cfg.bench.features, dev) if cfg.bench.features else None
    if cfg.data.builtin:
        ensure_physion_demo(cfg.data.path, progress=progress)
    split = cfg.data.eval_split
    m = cfg.model
    data = VideoFolder(
        cfg.data.split_root(split),
        m.num_frames,
        m.frame_offset,
        m.resolution,
        "center",
        cfg.data.clips,
        skip_bad=cfg.data.skip_bad,
        group_pattern=cfg.data.group_pattern,
        seed=cfg.seed,
        progress=progress,
    )
    gen = ClipGenerator.from_checkpoint(
        ckpt, cfg.latent, cfg.sampler, diffusion_steps=cfg.pretrain.diffusion_steps, device=dev
    )
    if (gen.num_frames, gen.frame_size) != (m.num_frames, m.resolution):
        raise ValueError(
            f"{ckpt}: a {gen.num_frames}-frame model for {gen.frame_size} px frames (in this latent "
            f"space), but the config says model.num_frames {m.num_frames}, "
            f"model.resolution {m.resolution}"
        )
    n_fake, n_real = cfg.bench.n_fake, cfg.bench.n_real
    draws = draw_clips(data, max(n_real, n_fake), cfg.seed)
    batch = cfg.sampler.batch_size

    real_stats = None
    if net is not None:
        feats = [
            net.features(load_clips(data, draws[i : min(i + batch, n_real)]))
            for i in tqdm(range(0, n_real, batch), desc="real features", disable=not progress, leave=False)
        ]
        real_stats = feature_stats(np.concatenate(feats))

    rows = []
    for task in cfg.bench.tasks:
        rows.append(_bench_task(cfg, task, data, draws[:n_fake], gen, net, real_stats, out, progress))
        row, frame = rows[-1], rows[-1]["frame_metrics"]
        log.info(
            "%s: %s",
            task,
            ", ".join(
                ([f"{row['fd_label']} {row['fd']:.3f}"] if row["fd"] is not None else [])
                + ([f"PSNR {frame['psnr']:.2f} dB, SSIM {frame['ssim']:.4f}"] if frame else [])
            )
            or "generated",
        )
    results = {
        "name": cfg.name,
        "checkpoint": str(ckpt),
        "seed": cfg.seed,
        "seconds": round(time.time() - started, 1),
        "data": {**data.describe(), "split": split, "path": str(cfg.data.path)},
        "sampler": cfg.sampler.model_dump(),
        "latent": cfg.latent.kind,
        "feature_net": None if net is None else {**cfg.bench.features.model_dump(mode="json"), "label": net.label},
        "tasks": rows,
        "config": cfg.model_dump(mode="json"),
    }
    json_path, md_path = write_results(out, results)
    log.info("wrote %s and %s", json_path, md_path)
    return results


def _bench_task(
    cfg: GenBenchConfig,
    task: str,
    data: VideoFolder,
    draws: list[tuple[int, int]],
    gen: ClipGenerator,
    net: FeatureNet | None,
    real_stats,
    out: Path,
    progress: bool,
) -> dict:
    """Generate ``len(draws)`` clips of one task in batches; accumulate features and per-frame scores."""
    m = cfg.model
    conditional = task != "unconditional"
    frame_task = task in FRAME_METRIC_TASKS
    fake_feats, scores, positions, videos = [], {}, [], []
    base_scores = {key: {} for key in BASELINES}
    grid = []
    batch = cfg.sampler.batch_size
    for start in tqdm(range(0, len(draws), batch), desc=f"{task}", unit="batch", disable=not progress):
        ids = range(start, min(start + batch, len(draws)))
        masks = task_masks(
            task, ids, gen.mask_shape, n_given=m.n_given, interp_stride=cfg.bench.interp_stride, seed=cfg.seed
        )
        real = load_clips(data, draws[ids.start : ids.stop]) if conditional else None
        fake = gen.generate(masks, real, ids, seed=cfg.seed)
        if net is not None:
            fake_feats.append(net.features(fake))
        if frame_task:
            # whole-frame tasks: a frame is generated when its latent mask is all ones
            generated = masks.flatten(2).all(-1)
            values, where = score_generated_frames(fake, real, generated, cfg.bench.ssim_window)
            for name, v in values.items():
                scores.setdefault(name, []).append(v)
            positions.append(where)
            # the video each scored frame comes from: the unit the paired intervals resample
            clip_video = torch.tensor([data.clip_location(*draws[i])[0] for i in ids])
            videos.append(clip_video[generated.nonzero()[:, 0]])
            for key, baseline in BASELINES.items():
                if task in baseline.tasks:
                    # the latent mask's whole frames are the given ones
                    guess = given_frames_prior(real, masks, baseline.prior_kind)
                    for name, v in score_generated_frames(guess, real, generated, cfg.bench.ssim_window)[0].items():
                        base_scores[key].setdefault(name, []).append(v)
        for row in range(min(len(ids), cfg.bench.grid_clips - ids.start)):
            colours = frame_states(masks[row])
            if real is not None:
                grid.append((f"real {ids[row]}", real[row], colours))
            grid.append((f"gen {ids[row]}", fake[row], colours))
    if grid:
        video_strip(grid, out / f"grid_{task}.png", label_width=80)
    row = {
        "task": task,
        "n_fake": len(draws),
        "n_real": cfg.bench.n_real,
        "frames": m.num_frames,
        "stride": m.frame_offset,
        "resolution": m.resolution,
        "path": str(cfg.data.path),
        "split": cfg.data.eval_split,
        "fd": None,
        "fd_label": None,
        "frame_metrics": None,
        **{key: None for key in BASELINES},
        "paired": None,
    }
    if net is not None:
        row["fd"] = frechet_distance(real_stats, feature_stats(np.concatenate(fake_feats)))
        row["fd_label"] = net.label
    if frame_task:
        model_scores = {k: torch.cat(v) for k, v in scores.items()}
        row["frame_metrics"] = summarize(model_scores, torch.cat(positions), m.num_frames)
        row["paired"] = {}  # baseline key -> model minus that baseline on the same frames, with intervals
    for key, values in base_scores.items():
        if values:
            base = {k: torch.cat(v) for k, v in values.items()}
            row[key] = summarize(base, torch.cat(positions), m.num_frames)
            row["paired"][key] = paired_difference(model_scores, base, torch.cat(videos), seed=cfg.seed)
    return row
