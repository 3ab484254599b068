"""The no-model baselines gen-bench scores beside the model: one table, read by bench.py (what to compute) and
report.py (what to call it)."""

from __future__ import annotations

from typing import NamedTuple


class Baseline(NamedTuple):
    label: str  # its name in results.md and the per-position chart
    prior_kind: str  # the vdt.masks.given_frames_prior kind that makes the guess
    tasks: tuple[str, ...]  # the tasks it is scored for


# Tasks whose masks always give at least one whole frame: the copy baseline is defined for every clip. Where given
# frames lie on both sides of generated ones (interpolation), a blend of them is the stronger no-model baseline.
COPY_TASKS = ("predict", "backward", "interpolation", "single_frame")

# results.json row key -> the baseline
BASELINES = {
    "baseline_metrics": Baseline("copy nearest given frame", "nearest", COPY_TASKS),
    "blend_baseline_metrics": Baseline("blend of the given frames on either side", "blend", ("interpolation",)),
}
