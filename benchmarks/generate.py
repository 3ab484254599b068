"""Generation throughput: trials/s per core at 64 and 128 px with 1 worker, and the 2-worker speed-up in the same run.

Each measurement generates a fresh store (simulation with label-balanced retries + HDF5 writing, as `generate` does),
so it includes everything a user waits for. Run from the repository root:
``PYTHONPATH=. .venv/bin/python benchmarks/generate.py [--trials 4]`` (no PYTHONPATH once the package is installed).
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

from physion.generate import generate


def timed_generation(
    scenarios: list[str], trials: int, resolution: int, frames: int, workers: int
) -> tuple[float, float]:
    """(seconds, mean tries per trial) to generate ``trials`` training trials of each scenario into a fresh store."""
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as out:
        start = time.perf_counter()
        manifest = generate(out, scenarios, {"training": trials}, resolution=resolution, num_frames=frames,
                            workers=workers, progress=False)
        seconds = time.perf_counter() - start
    tries = [t["tries"] for t in manifest["trials"].values()]
    return seconds, sum(tries) / len(tries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="+", default=["Collide", "Dominoes", "Roll"])
    parser.add_argument("--trials", type=int, default=4, help="trials per scenario per measurement")
    parser.add_argument("--frames", type=int, default=150)
    args = parser.parse_args()
    n = args.trials * len(args.scenarios)
    print(f"{n} trials ({args.trials} each of {', '.join(args.scenarios)}), {args.frames} frames, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before the run "
          "(other busy processes shrink the 2-worker speed-up)")
    print(f"{'resolution':>10} {'workers':>7} {'seconds':>8} {'tries':>6} {'trials/s':>9} {'trials/s/core':>13}")
    one_worker = {}
    for resolution, workers in ((64, 1), (128, 1), (128, 2)):
        seconds, tries = timed_generation(args.scenarios, args.trials, resolution, args.frames, workers)
        rate = n / seconds
        if workers == 1:
            one_worker[resolution] = rate
        print(f"{resolution:>10} {workers:>7} {seconds:>8.2f} {tries:>6.2f} {rate:>9.2f} {rate / workers:>13.2f}")
    print(f"speed-up of 2 workers over 1 at 128 px: {rate / one_worker[128]:.2f}x")


if __name__ == "__main__":  # the worker pool uses "spawn", which re-imports this module in each worker
    main()
