"""One exclusive lock per folder, for every writer that must be alone in it (``generate``/merge on a store,
``run`` and the stage commands on a run folder).

The lock is ``fcntl.flock`` on a small file in the folder, so the kernel drops it when its process dies however it
dies: a lock left by a dead process is simply free, and the next holder takes it over (and says so). The holder
writes who it is (pid, host, start time, command) into the file, so a refused process can tell the user.
``flock`` is per open file: a process must not take the same lock twice.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Iterator

from physion.errors import FolderLockedError

log = logging.getLogger(__name__)


def _holder_text(raw: str) -> str:
    try:
        who = json.loads(raw)
        return f"pid {who['pid']} on {who['host']}, since {who['started_at']}" + (
            f" ({who['command']})" if who.get("command") else ""
        )
    except (ValueError, KeyError, TypeError):
        return "a process that has not yet written its name"  # the holder is between flock and its write


@contextlib.contextmanager
def folder_lock(folder: str | Path, name: str, refusal: str, hint: str | None = None) -> Iterator[Path]:
    """Hold ``folder/name`` exclusively for the block; at once FolderLockedError(folder, "<refusal> (<holder>)")
    when a live process holds it. Yields the lock file's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    # O_RDWR without O_TRUNC: a refused process must not wipe the holder's name before reading it.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder_text(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
            raise FolderLockedError(folder, f"{refusal} ({holder})", hint) from None
        before = os.fstat(fd)
        stale = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
        if stale:  # a clean release empties the file, so this holder died without releasing
            log.warning("%s: taking over the lock of a process that is gone (%s)", path, _holder_text(stale))
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:300],
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode("utf-8"), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            # Back to its old times: a run that finds everything done leaves its folder exactly as it was.
            os.utime(fd, ns=(before.st_atime_ns, before.st_mtime_ns))
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
