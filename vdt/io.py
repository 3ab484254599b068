"""Writing files so that a crash never leaves a half-written one that looks complete."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import torch


def save_atomic(obj: Any, path: str | Path) -> Path:
    """torch.save to a temporary file in the same folder, then rename it over ``path``.

    The temporary file is created with mode 0666 less the umask, like any file (not mkstemp's 0600, which the
    rename would carry over and keep colleagues on a shared cluster from reading the model)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):  # only after a failure: a successful replace removed the temporary name
            os.remove(tmp)
    return path
