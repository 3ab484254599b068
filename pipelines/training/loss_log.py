"""Training curves: loss per mask task, averaged over ``log_every`` steps, to CSV (always) and TensorBoard.

On resume the CSV is cut back to the checkpoint's step, so the rows after it (work that was lost in the
crash and is done again) never appear twice; TensorBoard purges its events after that step for the same reason,
and the ``seconds`` column continues from the last row kept (training time over every session)."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path

from physion.atomic import atomic_path
from vdt.masks import TASKS

COLUMNS = ["step", "loss", "lr", "seconds"] + [f"loss_{task}" for task in TASKS]


def truncate_csv(path: Path, last_step: int) -> None:
    """Keep the header and the complete rows with step <= ``last_step`` (a crash may leave a partial last line)."""
    if not path.is_file():
        return
    keep = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                if None not in row.values() and int(row["step"]) <= last_step:
                    keep.append(row)
            except (TypeError, ValueError):
                break  # a torn last line
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(keep)


def last_seconds(path: Path) -> float:
    """The ``seconds`` of the last complete row (0 without one): where a resumed session's clock starts."""
    seconds = 0.0
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                seconds = float(row["seconds"])
            except (TypeError, ValueError, KeyError):
                break  # a torn last line
    return seconds


class LossLog:
    """Accumulates per-task losses between rows; ``row(step, ...)`` writes their means."""

    def __init__(self, folder: Path, tensorboard: bool = True, resume_step: int = 0):
        """``resume_step``: the checkpoint's step a resumed run continues from (after ``truncate_csv``)."""
        self.path = folder / "loss.csv"
        new = not self.path.is_file()
        self.seconds_before = 0.0 if new else last_seconds(self.path)
        self._file = open(self.path, "a", newline="", buffering=1)
        self._csv = csv.DictWriter(self._file, COLUMNS)
        if new:
            self._csv.writeheader()
        self._tb = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # imported here: only the main process logs

            # Events of steps after the checkpoint were written by the session that crashed and are redone now.
            self._tb = SummaryWriter(str(folder / "tensorboard"), purge_step=resume_step + 1)
        self._sums: dict[str, float] = defaultdict(float)
        self._counts: dict[str, int] = defaultdict(int)

    def add(self, loss: float, per_task: dict[str, tuple[float, int]]) -> None:
        """``per_task``: task -> (sum of per-sample losses, number of samples) of one step."""
        self._sums["loss"] += loss
        self._counts["loss"] += 1
        for task, (total, n) in per_task.items():
            self._sums[task] += total
            self._counts[task] += n

    def row(self, step: int, lr: float, seconds: float) -> dict:
        """``seconds``: since this session started; the row records them added to the earlier sessions'."""
        means = {k: self._sums[k] / self._counts[k] for k in self._counts if self._counts[k]}
        row = {
            "step": step,
            "loss": means.get("loss", math.nan),
            "lr": lr,
            "seconds": round(self.seconds_before + seconds, 2),
        }
        row.update({f"loss_{t}": means.get(t, math.nan) for t in TASKS})
        self._csv.writerow(row)
        if self._tb is not None:
            self._tb.add_scalar("loss/total", row["loss"], step)
            self._tb.add_scalar("lr", lr, step)
            for t in TASKS:
                if t in means:
                    self._tb.add_scalar(f"loss/{t}", means[t], step)
        self._sums.clear()
        self._counts.clear()
        return row

    def close(self) -> None:
        self._file.close()
        if self._tb is not None:
            self._tb.close()
