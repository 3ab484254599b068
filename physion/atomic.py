"""Atomic artifact writes: write to a hidden temporary name in the target folder, then ``os.replace``.

A crash or an exception mid-write leaves either the old file or no file, never a half-written one that
looks complete. Temporary names start with ``.`` and end with ``.tmp`` so globs like ``*.hdf5`` skip them.
The one helper of physion and pipelines; torch files are written by ``vdt.io.save_atomic`` under the same names
(vdt writes checkpoints itself and may not import physion: docs/design.md §1).
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from pathlib import Path
from typing import Any, Iterator


def temporary_sibling(path: Path) -> Path:
    """A unique hidden name in ``path``'s folder (same filesystem, so ``os.replace`` is atomic)."""
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on any exception it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        # After a successful replace the temporary name no longer exists; after a failure it must go.
        tmp.unlink(missing_ok=True)


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically; returns ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path
