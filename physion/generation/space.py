"""Disk space: refuse a generation the disk cannot hold before it starts, and stop cleanly before the disk fills.

A disk that fills during an HDF5 write leaves h5py in states that can crash the process (thousands of error lines,
then a segfault), so ``generate`` checks before every trial that one more fits, rather than meeting ENOSPC inside
a write. Finished trials are complete files, so a rerun with more room resumes.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path
from typing import Iterable

from physion.errors import OutOfSpaceError

# Trial files measured at 64 px: 0.4-0.7 of the raw RGB bytes of their stored frames (PNG frames, id images,
# masks, states); 0.9 plus a fixed part bounds them with room.
RAW_FRACTION = 0.9
FIXED_BYTES = 64 * 1024
HEADROOM = 1.2  # on a measured mean file size


def trial_bytes(resolution: int, stored_frames: int, done: Iterable[Path] = ()) -> int:
    """Bytes one more trial takes: the mean size of the store's finished trials when it has some, else the
    estimate from the plan (resolution and stored frames)."""
    sizes = [p.stat().st_size for p in done]
    if sizes:
        return int(HEADROOM * sum(sizes) / len(sizes))
    return int(RAW_FRACTION * resolution * resolution * 3 * stored_frames) + FIXED_BYTES


def free_bytes(root: Path) -> int:
    return shutil.disk_usage(root).free


def check_free_space(root: Path, per_trial: int, trials: int) -> None:
    """OutOfSpaceError(root) when ``trials`` trials of ``per_trial`` bytes do not fit on ``root``'s disk."""
    need, free = per_trial * trials, free_bytes(root)
    if trials and free < need:
        raise OutOfSpaceError(
            root,
            f"needs about {_size(need)} for {trials} more trial(s) ({_size(per_trial)} each), "
            f"the disk has {_size(free)} free",
            hint="free some space or generate elsewhere; trials already written are kept and a rerun resumes",
        )


def is_disk_full(err: BaseException) -> bool:
    """An ENOSPC/EDQUOT OSError, also as h5py reports it (message text, no errno)."""
    if not isinstance(err, OSError):
        return False
    return err.errno in (errno.ENOSPC, errno.EDQUOT) or "No space left on device" in str(err)


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
