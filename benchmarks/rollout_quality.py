"""What makes the VDT's rollouts good: one fixed small generated set, one fixed training budget (same seeds), one
model per setting (prediction target x latent normalisation, and any recipe given with --setting).

For every setting: a learning curve (rollout error of the EMA model at each checkpoint against training wall time,
with the curve sampler), then on the final model, per scenario and for every sampler (DDIM at 4/8/16/32/100 steps,
DPM-Solver++(2M) at 4/8/16, the 500-step ancestral sampler, and any given with --sampler):
  - pixel MSE of the rollout over copying the last observed frame;
  - the agent's and the patient's centroid error (found by colour, physion.colour_objects) over copy-last and over
    constant-velocity extrapolation of the last two observed centroids, per predicted frame (horizon).
All evaluation trials come from the readout split (never test). Printed as tables; --json FILE for the figures;
a PNG with the learning curves and error against model evaluations.

    python benchmarks/rollout_quality.py                               # the default grid (~1.5 h on 2 cores)
    python benchmarks/rollout_quality.py --settings x0-norm eps-raw --steps 600 --samplers ddim:8 ddpm:500
    python benchmarks/rollout_quality.py --setting 'x0-minsnr:prediction=x0,loss_weighting=min_snr'
    python benchmarks/rollout_quality.py --settings --steps 500 \
        --setting 'tune:init=models/vdt_ti4_physion32.pt,prediction=residual_v,lr=3e-4,warmup_steps=10'
    python benchmarks/rollout_quality.py --settings x0-norm --setting 'x0-decoupled:prediction=x0,image_steps=300'
        # the paper's spatial-first schedule; its curve's times include the image phase
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import scipy.stats
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from physion.colour_objects import colour_objects  # noqa: E402
from physion.datasets import ClipDataset, TrialDataset  # noqa: E402
from physion.generation.generate_store import generate  # noqa: E402
from pipelines.config.loading import validate_config  # noqa: E402
from pipelines.config.sections import LatentConfig, ModelConfig, PretrainConfig  # noqa: E402
from pipelines.training import load_trained, train_vdt  # noqa: E402
from pipelines.training.checkpoints import checkpoint_path, spatial_phase_dir  # noqa: E402
from vdt.diffusion import spacing_string  # noqa: E402
from vdt.video_tasks import rollout  # noqa: E402

SCENARIOS = ("Collide", "Dominoes", "Drop", "Roll")
MODEL = {"size": "VDT-Ti/4", "resolution": 32, "num_frames": 8, "n_given": 4, "frame_offset": 4}
OBSERVED = 12  # subsampled frames in the observed 1.5 s (45 frames, every 4th)
HORIZON = 12  # predicted frames (3 windows of 4)
# The recipe every setting shares unless it overrides it (the quickstart's, see configs/quickstart.yaml).
BASE = {
    "batch_size": 12,
    "lr": 3e-3,
    "warmup_steps": 100,
    "schedule": "cosine",
    "ema_decay": 0.999,
    # fp32 as the quickstart trains: bf16 autocast made a VDT-Ti/4 training step ~4x slower on this CPU (22 s
    # against 5 s per step, side by side under the same load), though it helps sampling and feature extraction.
    "mixed_precision": "no",
    "preview_every": 100_000,
    "keep_checkpoints": 1000,
    "mask_weights": {
        "predict": 0.8,
        "backward": 0.05,
        "interpolation": 0.05,
        "random_frames": 0.05,
        "spatial_temporal": 0.05,
    },
}
GRID = {
    f"{target}-{norm}": {"prediction": target, "normalize": "fit" if norm == "norm" else "none"}
    for target in ("eps", "v", "x0")
    for norm in ("raw", "norm")
}
# The residual targets, measured from the last given frame, on normalised pixels only (their raw forms were not run)
GRID.update({f"{target}-norm": {"prediction": target, "normalize": "fit"} for target in ("residual", "residual_v")})
SAMPLERS = ["ddim:4", "ddim:8", "ddim:16", "ddim:32", "ddim:100", "dpmpp2m:4", "dpmpp2m:8", "dpmpp2m:16", "ddpm:500"]


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("runs/bench_rollout_quality"))
    p.add_argument("--store", type=Path, help="an existing 32 px store (default: generate the fixed set into OUT)")
    p.add_argument("--settings", nargs="*", default=list(GRID), help=f"built-in settings (default: {list(GRID)})")
    p.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME:key=value,...",
        help="an extra setting: pretrain keys over the base recipe, plus normalize=fit|none, init=PATH, size=NAME",
    )
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="also evaluate this trained checkpoint (no training; learning curve from its run's "
        "checkpoints/ when they sit beside it), e.g. release=models/vdt_ti4_physion32.pt",
    )
    p.add_argument(
        "--steps", type=int, default=1500, help="training steps of every setting (with init=: of fine-tuning)"
    )
    p.add_argument("--curve-every", type=int, default=250, help="steps between learning-curve points")
    p.add_argument("--curve-sampler", default="ddim:8")
    p.add_argument(
        "--samplers",
        nargs="*",
        default=SAMPLERS,
        help="METHOD:STEPS[:SPACING][@T] evaluated at the end (@T: start from the noised last frame)",
    )
    p.add_argument("--start", default=None, help="T: start every sampler from the last given frame noised to T")
    p.add_argument("--trials", type=int, default=12, help="readout trials per scenario evaluated")
    p.add_argument("--curve-trials", type=int, default=6, help="of those, per scenario, for the learning curves")
    p.add_argument("--json", type=Path)
    return p.parse_args()


# ------------------------------------------------------------------------------------------------ data


def ensure_store(args) -> Path:
    if args.store is not None:
        return args.store
    store = args.out / "store"
    generate(
        store,
        scenarios=list(SCENARIOS),
        counts={"training": 48, "readout": 16, "test": 2},
        resolution=32,
        num_frames=120,
        frame_stride=4,
        workers=2,
        seed=0,
        progress=True,
    )
    return store


def eval_trials(store: Path, n: int) -> dict[str, torch.Tensor]:
    """scenario -> (n, OBSERVED + HORIZON, 3, 32, 32) frames of the first n readout trials."""
    out = {}
    for scenario in SCENARIOS:
        data = TrialDataset(
            store,
            split="readout",
            num_frames=(OBSERVED + HORIZON) * 4,
            frame_offset=4,
            resolution=32,
            scenarios=[scenario],
        )
        out[scenario] = torch.stack([data[i]["frames"] for i in range(min(n, len(data)))])
    return out


# ------------------------------------------------------------------------------------------------ metrics


def centroids(frames: torch.Tensor) -> np.ndarray:
    """(B, F, 3, H, W) -> (B, F, 2 objects, 2) colour centroids in [0, 1], NaN where the object is not found."""
    b, f = frames.shape[:2]
    m = colour_objects(frames.flatten(0, 1).float().numpy())
    c = np.where(m.present[..., None], m.centroid, np.nan)
    return c.reshape(b, f, 2, 2)


def object_errors(pred: torch.Tensor, frames: torch.Tensor) -> dict[str, np.ndarray]:
    """Per object (agent, patient) and predicted frame: mean centroid error (in frame widths) of the model, of
    copy-last and of constant velocity, over the trials where the object is found in the true frame. A predicted
    frame where the model lost the object counts with copy-last's centroid (the no-information guess); "model_found"
    is the fraction of those trials whose predicted frame still shows the object (a colour mask of >= 1 pixel)."""
    truth = centroids(frames[:, OBSERVED:])
    obs = centroids(frames[:, OBSERVED - 2 : OBSERVED])
    last, velocity = obs[:, 1:2], obs[:, 1:2] - obs[:, 0:1]
    steps = np.arange(1, truth.shape[1] + 1)[None, :, None, None]
    guesses = {
        "model": centroids(pred),
        "copy_last": np.broadcast_to(last, truth.shape),
        "constant_velocity": last + velocity * steps,
    }
    in_truth = ~np.isnan(truth[..., 0])  # (B, F, 2)
    found = ~np.isnan(guesses["model"][..., 0]) & in_truth
    guesses["model"] = np.where(np.isnan(guesses["model"]), guesses["copy_last"], guesses["model"])
    out = {}
    for name, guess in guesses.items():
        err = np.linalg.norm(guess - truth, axis=-1)  # (B, F, 2)
        out[name] = np.nanmean(err, axis=0)  # (F, 2)
        if name != "constant_velocity":  # per trial, for the paired interval against copy-last (NaN: not in truth)
            out[f"agent_trials_{name}"] = err[..., 0]  # (B, F)
    # how often the model's frame still shows the object where the true frame does (else copy-last stood in)
    out["model_found"] = found.sum(axis=0) / np.maximum(in_truth.sum(axis=0), 1)  # (F, 2)
    return out


# ------------------------------------------------------------------------------------------------ runs


def setting_configs(name: str, overrides: dict):
    """init=PATH fine-tunes that checkpoint (keeping its normalisation) instead of training from scratch;
    size=NAME trains another model size on the same 32 px frames (e.g. VDT-Ti/2: 4x the tokens of VDT-Ti/4)."""
    overrides = dict(overrides)
    normalize = overrides.pop("normalize", "fit")
    init = overrides.pop("init", None)
    size = overrides.pop("size", MODEL["size"])
    latent = validate_config({"kind": "pixels", "normalize": normalize}, LatentConfig, source=f"setting {name}")
    model = validate_config({**MODEL, "size": size, "init_checkpoint": init}, ModelConfig, source=f"setting {name}")
    return latent, model, overrides


def train(name: str, overrides: dict, store: Path, args) -> Path:
    latent, model, pre = setting_configs(name, overrides)
    pretrain = validate_config(
        {**BASE, **pre, "steps": args.steps, "checkpoint_every": args.curve_every},
        PretrainConfig,
        source=f"setting {name}",
    )
    data = ClipDataset(
        store, split="training", num_frames=8, frame_offset=4, resolution=32, scenarios=list(SCENARIOS), seed=0
    )
    return train_vdt(data, model=model, latent=latent, pretrain=pretrain, out_dir=args.out / name, seed=0)


def parse_sampler(spec: str) -> dict:
    """METHOD:STEPS[:SPACING][@T]: @T starts from the last given frame noised to model step T."""
    spec, _, start = spec.partition("@")
    method, steps, *spacing = spec.split(":")
    kind = spacing[0] if spacing else {"ddim": "leading", "ddpm": "linspace", "dpmpp2m": "trailing"}[method]
    return {
        "method": method,
        "steps": int(steps),
        "spacing": spacing_string(kind, int(steps)),
        "start": int(start) if start else None,
    }


def evaluate(path: Path, sampler: str, trials: dict[str, torch.Tensor], start: int | None) -> dict:
    trained = load_trained(path, LatentConfig(kind="pixels", normalize="none"))  # the checkpoint's own space
    s = parse_sampler(sampler)
    start = s["start"] if s["start"] is not None else start
    diffusion = trained.diffusion.respace(s["spacing"])
    out, tick = {}, time.perf_counter()
    for scenario, frames in trials.items():
        latents = trained.space.encode(frames)
        start_kw = {"start_from": "nearest_given", "start_step": start} if start is not None else {}
        pred_lat = rollout(
            trained.model,
            diffusion,
            latents[:, :OBSERVED],
            HORIZON,
            n_given=MODEL["n_given"],
            method=s["method"],
            clip_range=trained.space.value_range,
            amp_dtype=torch.bfloat16,
            generator=torch.Generator().manual_seed(1),
            **start_kw,
        )
        pred = trained.space.decode(pred_lat).float()
        future = frames[:, OBSERVED:]
        trial_mse = ((pred - future) ** 2).mean(dim=(1, 2, 3, 4))
        mse = float(trial_mse.mean())
        copy = float(((frames[:, OBSERVED - 1 : OBSERVED] - future) ** 2).mean())
        step_sd = float((pred[:, 1:] - pred[:, :-1]).std())
        true_sd = float((future[:, 1:] - future[:, :-1]).std())
        out[scenario] = {
            "mse": mse,
            "copy_last": copy,
            "ratio": mse / copy,
            "trial_mse": trial_mse.tolist(),
            "step_sd": step_sd,
            "true_step_sd": true_sd,
            # NaN (an object the true frame lacks) as null, so the JSON stays standard
            "objects": {k: np.where(np.isnan(v), None, v).tolist() for k, v in object_errors(pred, frames).items()},
        }
    seconds = time.perf_counter() - tick
    nfe = s["steps"] if start is None else diffusion.step_at_or_below(start) + 1
    ratios = [v["ratio"] for v in out.values()]
    return {
        "sampler": sampler,
        "nfe_per_window": nfe,
        "seconds": seconds,
        "trials_per_s": sum(len(f) for f in trials.values()) / seconds,
        "mean_ratio": float(np.mean(ratios)),
        "scenarios": out,
    }


def training_seconds(run: Path) -> dict[int, float]:
    """step -> training wall time at that step (loss.csv), counting a decoupled run's spatial phase before it."""
    seconds = {}
    with open(run / "loss.csv") as f:
        for row in csv.DictReader(f):
            seconds[int(row["step"])] = float(row["seconds"])
    spatial = spatial_phase_dir(run)
    if (spatial / "loss.csv").is_file():
        before = max(training_seconds(spatial).items())[1]
        seconds = {step: before + s for step, s in seconds.items()}
    return seconds


def curve(name: str, run: Path, args, trials) -> list[dict]:
    seconds = training_seconds(run)
    points = []
    for step in range(args.curve_every, args.steps + 1, args.curve_every):
        ckpt = checkpoint_path(run, step)
        if ckpt.is_file():
            result = evaluate(ckpt, args.curve_sampler, trials, args.start)
            logged = [s for k, s in seconds.items() if k <= step]  # loss.csv logs every log_every steps
            at = logged[-1] if logged else None
            points.append({"step": step, "seconds": at, "mean_ratio": result["mean_ratio"]})
            print(
                f"  {name} step {step} ({float('nan') if at is None else at:.0f} s): rollout MSE "
                f"{result['mean_ratio']:.2f}x copy-last",
                flush=True,
            )
    return points


# ------------------------------------------------------------------------------------------------ output


def object_arrays(r: dict, key: str) -> list[np.ndarray]:
    """One sampler result's ``objects[key]`` per scenario, as float arrays (null, for NaN, back to NaN)."""
    return [np.array(v["objects"][key], dtype=float) for v in r["scenarios"].values()]


def horizon_ratios(r: dict, obj: int, baseline: str) -> np.ndarray:
    """Per predicted frame: the model's centroid error of object ``obj`` over ``baseline``'s, mean over scenarios;
    NaN where the baseline is exact (a patient that has not moved yet: copy-last's error is 0)."""
    model = np.mean([a[:, obj] for a in object_arrays(r, "model")], axis=0)
    base = np.mean([a[:, obj] for a in object_arrays(r, baseline)], axis=0)
    return np.divide(model, base, out=np.full_like(model, np.nan), where=base > 0)


def found_fraction(r: dict, obj: int) -> np.ndarray:
    """Per predicted frame: the fraction of trials whose predicted frame still shows object ``obj``, mean over
    scenarios."""
    return np.mean([a[:, obj] for a in object_arrays(r, "model_found")], axis=0)


def fewest_within(final: list[dict], reference: str = "ddpm:500", tolerance: float = 0.10) -> dict | None:
    """The sampler of fewest model evaluations whose mean MSE over copy-last is at most (1 + tolerance) times the
    reference sampler's (the paper's 500-step ancestral one), with the NFE ratio; None without the reference."""
    ref = next((r for r in final if r["sampler"] == reference), None)
    if ref is None:
        return None
    good = [r for r in final if r["mean_ratio"] <= (1 + tolerance) * ref["mean_ratio"]]
    best = min(good, key=lambda r: (r["nfe_per_window"], r["mean_ratio"]))
    return {
        "sampler": best["sampler"],
        "nfe_per_window": best["nfe_per_window"],
        "mean_ratio": best["mean_ratio"],
        "reference": reference,
        "reference_ratio": ref["mean_ratio"],
        "nfe_speedup": ref["nfe_per_window"] / best["nfe_per_window"],
    }


def bootstrap_interval(diffs: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the mean of paired differences; NaNs from fewer than two."""
    if len(diffs) < 2:
        return float("nan"), float("nan")
    ci = scipy.stats.bootstrap(
        (diffs,), np.mean, n_resamples=2000, confidence_level=0.95, method="percentile", rng=np.random.default_rng(seed)
    ).confidence_interval
    return float(ci.low), float(ci.high)


def paired_difference(a: dict, b: dict, seed: int = 0) -> dict:
    """Mean MSE / copy-last of sampler result ``a`` minus ``b``'s, over the same trials, with a paired 95%
    percentile-bootstrap interval: per trial the two models' MSE difference over its scenario's copy-last MSE, so
    the mean of these is the difference of the scenario-mean ratios the tables print."""
    diffs = np.concatenate(
        [
            (np.array(v["trial_mse"]) - np.array(b["scenarios"][sc]["trial_mse"])) / v["copy_last"]
            for sc, v in a["scenarios"].items()
        ]
    )
    low, high = bootstrap_interval(diffs, seed)
    return {"difference": float(diffs.mean()), "low": low, "high": high, "n": int(len(diffs))}


def agent_against_copy_last(r: dict, seed: int = 0) -> list[dict]:
    """Per predicted frame: the agent's centroid error of the model minus copy-last's, in pixels, pooled over the
    trials of every scenario where the true frame shows the agent, with a paired 95% percentile-bootstrap interval
    (an interval below 0: the model places the agent better than its last observed position)."""
    pixels = MODEL["resolution"]
    model, copy = (np.concatenate(object_arrays(r, f"agent_trials_{k}")) for k in ("model", "copy_last"))
    out = []
    for h in range(model.shape[1]):
        diffs = (model[:, h] - copy[:, h])[~np.isnan(copy[:, h])] * pixels
        low, high = bootstrap_interval(diffs, seed)
        mean = float(diffs.mean()) if len(diffs) else float("nan")
        out.append({"difference_px": mean, "low": low, "high": high, "n": len(diffs)})
    return out


def print_paired(results: dict) -> dict:
    """Every setting against the first one, per sampler both ran: the paired difference of MSE / copy-last."""
    names = list(results)
    out = {}
    for name in names[1:]:
        for ref_r in results[names[0]]["final"]:
            other = next((r for r in results[name]["final"] if r["sampler"] == ref_r["sampler"]), None)
            if other is not None:
                d = out[f"{name} - {names[0]} @ {ref_r['sampler']}"] = paired_difference(other, ref_r)
                print(
                    f"  {name} - {names[0]}, {ref_r['sampler']}: MSE/copy-last {d['difference']:+.3f} "
                    f"[{d['low']:+.3f}, {d['high']:+.3f}] (paired bootstrap, {d['n']} trials)",
                    flush=True,
                )
    return out


def print_final(result: dict) -> None:
    """Print a model's sampler lines and record (and print) the fewest-NFE sampler within 10% of ddpm:500."""
    for r in result["final"]:
        print(summary_line(r), flush=True)
        r["agent_vs_copy_last"] = paired = agent_against_copy_last(r)
        print(
            f"      agent centroid error minus copy-last's, px, paired 95% interval over {paired[0]['n']} trials, "
            "per predicted frame: "
            + "  ".join(f"{d['difference_px']:+.2f} [{d['low']:+.2f}, {d['high']:+.2f}]" for d in paired),
            flush=True,
        )
    result["fewest_within_10pct"] = best = fewest_within(result["final"])
    if best is not None:
        print(
            f"  fewest evaluations within 10% of {best['reference']}'s error ({best['reference_ratio']:.2f}x "
            f"copy-last): {best['sampler']} at {best['mean_ratio']:.2f}x, {best['nfe_speedup']:.0f}x fewer NFE",
            flush=True,
        )


def summary_line(r: dict) -> str:
    per = "  ".join(f"{sc} {v['ratio']:5.2f}x" for sc, v in r["scenarios"].items())
    agent = horizon_ratios(r, 0, "copy_last")
    found = " ".join(f"{x:.2f}" for x in found_fraction(r, 0))
    change = "  ".join(f"{sc} {v['step_sd'] / v['true_step_sd']:.2f}x" for sc, v in r["scenarios"].items())
    return (
        f"  {r['sampler']:<16} NFE/window {r['nfe_per_window']:>3}  {r['trials_per_s']:6.2f} trials/s  "
        f"MSE/copy-last {r['mean_ratio']:5.2f}  ({per})\n"
        f"      agent centroid error / copy-last per predicted frame: {' '.join(f'{x:.2f}' for x in agent)}\n"
        f"      agent / constant velocity: {' '.join(f'{x:.2f}' for x in horizon_ratios(r, 0, 'constant_velocity'))}"
        f"   patient / copy-last: {' '.join(f'{x:.2f}' for x in horizon_ratios(r, 1, 'copy_last'))}\n"
        f"      frame change std / the true videos' (speckle far above 1, a frozen scene below): {change}\n"
        f"      agent still found in the predicted frame (else copy-last stands in), per predicted frame: {found}"
    )


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, r in results.items():
        pts = [p for p in r["curve"] if p["seconds"] is not None]
        a.plot([p["seconds"] for p in pts], [p["mean_ratio"] for p in pts], marker="o", label=name)
        groups: dict[str, list] = {}
        for x in r["final"]:  # one line per sampler family (method, spacing, start), over its step counts
            spec = x["sampler"].split("@")
            method, _, *spacing = spec[0].split(":")
            key = f"{name} {method}" + (f":{spacing[0]}" if spacing else "") + (f" @{spec[1]}" if len(spec) > 1 else "")
            groups.setdefault(key, []).append(x)
        for key, xs in groups.items():
            xs = sorted(xs, key=lambda x: x["nfe_per_window"])
            b.plot([x["nfe_per_window"] for x in xs], [x["mean_ratio"] for x in xs], marker="o", label=key)
    for ax in (a, b):
        ax.axhline(1.0, color="k", lw=0.8, ls="--")
        ax.set_yscale("log")
        ax.set_ylabel("rollout pixel MSE / copy-last")
        ax.legend(fontsize=8)
    if not any(p["seconds"] is not None for r in results.values() for p in r["curve"]):
        a.text(
            0.5, 0.5, "no learning curves: only trained checkpoints were evaluated", ha="center", transform=a.transAxes
        )
    a.set_xlabel("training wall time (s)")
    a.set_title("learning curves (readout trials)")
    b.set_xscale("log")
    b.set_xlabel("model evaluations per window")
    b.set_title("final models: error against sampler cost")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> int:
    args = parse()
    torch.set_num_threads(torch.get_num_threads())
    settings = {n: GRID[n] for n in args.settings}
    for spec in args.setting:
        name, _, body = spec.partition(":")
        pairs = [kv.split("=", 1) for kv in re.split(r",(?![^\[]*\])", body) if kv]  # commas in [lo,hi] stay
        settings[name] = {
            k: json.loads(v) if v[:1] in "[{0123456789.-" or v in ("true", "false") else v for k, v in pairs
        }
    store = ensure_store(args)
    trials = eval_trials(store, args.trials)
    curve_trials = {sc: f[: args.curve_trials] for sc, f in trials.items()}
    results = {}
    for name, overrides in settings.items():
        print(f"== {name}: {overrides}", flush=True)
        final = train(name, overrides, store, args)
        results[name] = {
            "overrides": overrides,
            "curve": curve(name, args.out / name, args, curve_trials),
            "final": [evaluate(final, s, trials, args.start) for s in args.samplers],
        }
        print_final(results[name])
    for spec in args.model:
        name, _, path = spec.partition("=")
        path = Path(path)
        print(f"== {name}: {path}", flush=True)
        run = path.parent
        results[name] = {
            "checkpoint": str(path),
            "curve": curve(name, run, args, curve_trials) if (run / "loss.csv").is_file() else [],
            "final": [evaluate(path, s, trials, args.start) for s in args.samplers],
        }
        print_final(results[name])
    if len(results) > 1:
        print("== paired differences against the first setting (negative: lower error than it)")
    paired = print_paired(results)
    png = args.out / "rollout_quality.png"
    plot(results, png)
    print(f"learning curves and error against model evaluations: {png}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "steps": args.steps,
                    "settings": results,
                    "paired_differences": paired,
                    "base_recipe": BASE,
                    "horizon": HORIZON,
                    "observed": OBSERVED,
                    "scenarios": SCENARIOS,
                },
                indent=1,
            )
        )
        print(f"figures: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
