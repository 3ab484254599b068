"""The trial plan: which trials a generation (or one shard of it) must produce, in a deterministic global order."""

from __future__ import annotations

from dataclasses import dataclass

from physion.trial import SPLITS


@dataclass(frozen=True)
class TrialJob:
    """One trial to produce: ``spec`` loads the scenario class, ``scenario`` is its name (the store folder)."""

    split: str
    scenario: str
    spec: str
    index: int

    @property
    def name(self) -> str:
        return trial_name(self.scenario, self.split, self.index)


def trial_name(scenario: str, split: str, index: int) -> str:
    """Deterministic stimulus name, e.g. ``Collide_training_00007``."""
    return f"{scenario}_{split}_{index:05d}"


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> (I, N) with 0 <= I < N (e.g. ``$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT``)."""
    try:
        i_text, n_text = text.split("/")
        shard = (int(i_text), int(n_text))
    except ValueError:
        raise ValueError(f"shard must look like I/N (e.g. 0/4), got {text!r}") from None
    check_shard(shard)
    return shard


def check_shard(shard: tuple[int, int] | None) -> None:
    if shard is None:
        return
    i, n = shard
    if n < 1 or not 0 <= i < n:
        raise ValueError(f"shard {i}/{n} is invalid: need N >= 1 and 0 <= I < N")


def check_counts(counts: dict[str, int]) -> dict[str, int]:
    """Validate ``{split: count}`` and return it in SPLITS order (absent splits count 0)."""
    unknown = set(counts) - set(SPLITS)
    if unknown:
        raise ValueError(f"unknown split(s) {sorted(unknown)} in counts; expected keys from {SPLITS}")
    checked = {}
    for split in SPLITS:
        n = counts.get(split, 0)
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"count for split {split!r} must be an int >= 0, got {n!r}")
        checked[split] = n
    return checked


def plan_trials(
    scenarios: dict[str, str], counts: dict[str, int], shard: tuple[int, int] | None = None
) -> list[TrialJob]:
    """All trials in global order (split, then scenario in the given order, then index); with ``shard=(I, N)`` only
    the trials whose position in that order is I modulo N, so N array jobs partition the work with no coordination.

    scenarios: ``{name: spec}`` in the user's order.
    """
    check_shard(shard)
    counts = check_counts(counts)
    jobs = [
        TrialJob(split, name, spec, index)
        for split in SPLITS
        for name, spec in scenarios.items()
        for index in range(counts[split])
    ]
    if shard is None:
        return jobs
    i, n = shard
    return [job for position, job in enumerate(jobs) if position % n == i]
