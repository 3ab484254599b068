"""Generation throughput: today's quickstart data (64 px, every frame stored) against the run-shaped store (the
model's 32 px, every 4th frame stored: what the quickstart's model reads), interleaved in the same run.

Each measurement generates a fresh store (simulation with label-balanced retries + HDF5 writing, as `generate` does),
so it includes everything a user waits for. The settings alternate (A B A B ...) so load from other processes on a
shared machine hits both alike; the ratio of the summed times is the figure to read. Run from the repository root:
``PYTHONPATH=. .venv/bin/python benchmarks/generate.py [--trials 2] [--repeats 2] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from physion.generation.generate_store import generate
from pipelines.config.loading import load_config
from pipelines.config.physion_run import PhysionRunConfig

QUICKSTART = Path(__file__).resolve().parents[1] / "configs" / "quickstart.yaml"

# (name, render resolution, frame stride): the quickstart today, and the store its model (32 px, offset 4) reads.
SETTINGS = (("every frame, 64 px", 64, 1), ("every 4th frame, 32 px", 32, 4))


def timed_generation(
    scenarios: list[str], trials: int, resolution: int, frames: int, workers: int, frame_stride: int
) -> tuple[float, float]:
    """(seconds, mean tries per trial) to generate ``trials`` training trials of each scenario into a fresh store."""
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as out:
        start = time.perf_counter()
        manifest = generate(
            out,
            scenarios,
            {"training": trials},
            resolution=resolution,
            num_frames=frames,
            workers=workers,
            progress=False,
            frame_stride=frame_stride,
        )
        seconds = time.perf_counter() - start
    tries = [t["tries"] for t in manifest["trials"].values()]
    return seconds, sum(tries) / len(tries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenarios",
        nargs="+",
        default=None,
        help="default: the quickstart's (configs/quickstart.yaml data.scenarios)",
    )
    parser.add_argument("--trials", type=int, default=2, help="trials per scenario per measurement")
    parser.add_argument("--frames", type=int, default=120, help="video frames per trial (the quickstart's 120)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2, help="measurements of each setting, interleaved")
    parser.add_argument("--json", type=str, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    args.scenarios = args.scenarios or list(load_config(QUICKSTART, PhysionRunConfig).data.scenarios)
    n = args.trials * len(args.scenarios)
    print(
        f"{n} trials ({args.trials} each of {', '.join(args.scenarios)}), {args.frames} frames, {args.workers} "
        f"worker(s), {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before the run"
    )
    print(f"{'setting':>24} {'repeat':>6} {'seconds':>8} {'tries':>6} {'trials/s':>9}")
    runs = {name: [] for name, _, _ in SETTINGS}
    for repeat in range(args.repeats):
        for name, resolution, stride in SETTINGS:
            seconds, tries = timed_generation(
                args.scenarios, args.trials, resolution, args.frames, args.workers, stride
            )
            runs[name].append({"seconds": round(seconds, 3), "tries": round(tries, 3)})
            print(f"{name:>24} {repeat:>6} {seconds:>8.2f} {tries:>6.2f} {n / seconds:>9.2f}")
    rates = {name: n * len(r) / sum(x["seconds"] for x in r) for name, r in runs.items()}
    (base, _, _), (shaped, _, _) = SETTINGS
    ratio = rates[shaped] / rates[base]
    print(f"trials/s: {base}: {rates[base]:.2f}, {shaped}: {rates[shaped]:.2f}; ratio {ratio:.2f}x")
    if args.json:
        result = {
            "trials_per_measurement": n,
            "frames": args.frames,
            "workers": args.workers,
            "settings": {name: {"resolution": r, "frame_stride": s} for name, r, s in SETTINGS},
            "runs": runs,
            "trials_per_s": {k: round(v, 3) for k, v in rates.items()},
            "ratio": round(ratio, 3),
        }
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":  # the worker pool uses "spawn", which re-imports this module in each worker
    main()
