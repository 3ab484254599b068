"""Seeds and wanted labels: a pure, documented function of (base seed, split, scenario, trial index, attempt).

Scheme (stable across runs, machines and Python versions, since it uses no salted ``hash``)::

    key  = (SPLITS.index(split), sha256(scenario name)[:8] as a big-endian int, index, attempt)
    seed = SeedSequence(entropy=base_seed, spawn_key=key).generate_state(1, uint64)[0] >> 1

The result is a 63-bit non-negative int (fits HDF5 int64). Different keys give statistically independent seeds;
over millions of keys a collision has probability ~1e-7, and the tests check a realistic range has none.
"""

from __future__ import annotations

import hashlib

import numpy as np

from physion.trial import SPLITS

SEED_SCHEME = (
    "SeedSequence(entropy=base_seed, spawn_key=(SPLITS.index(split), int(sha256(scenario)[:8]), index, attempt))"
    ".generate_state(1, uint64)[0] >> 1"
)


def scenario_key(scenario: str) -> int:
    """A stable 64-bit integer for a scenario name (built-in or plugin)."""
    return int.from_bytes(hashlib.sha256(scenario.encode("utf-8")).digest()[:8], "big")


def trial_seed(base_seed: int, split: str, scenario: str, index: int, attempt: int) -> int:
    """The simulator seed of one attempt at one trial; see the module docstring for the scheme."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    if base_seed < 0 or index < 0 or attempt < 0:
        raise ValueError(f"base_seed, index and attempt must be >= 0, got {base_seed}, {index}, {attempt}")
    key = (SPLITS.index(split), scenario_key(scenario), int(index), int(attempt))
    state = np.random.SeedSequence(entropy=int(base_seed), spawn_key=key).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


def wanted_label(index: int) -> bool:
    """Trial ``index`` wants a positive (contact) outcome iff it is even, so each split is exactly balanced."""
    return index % 2 == 0
