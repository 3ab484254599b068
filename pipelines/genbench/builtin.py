"""The built-in demo dataset: generated Physion videos written as an MP4 folder, so gen-train / gen-bench run with
no download. Layout ``ROOT/{training,test}/{Scenario}/{trial}.mp4``: splits are sub-folders and scenarios are the
class folders of the video-folder dataset. A ``builtin.json`` written last marks a complete folder; a rerun with the
same settings does nothing, and an interrupted one resumes (the pybullet store in ``ROOT/.store`` is resumable and
existing MP4s are kept). About 50 s on one CPU core for the defaults: 96 training videos per scenario, since the
demo model learns the motion only from that many (docs/design.md §2).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from physion.atomic import write_json_atomic
from physion.video_io import write_video

log = logging.getLogger(__name__)
MARKER = "builtin.json"
DEMO_SETTINGS = {
    "scenarios": ["Collide", "Roll"],
    "counts": {"training": 96, "test": 4},
    "render_resolution": 32,
    "num_frames": 64,
    "fps": 30,
    "seed": 0,
}


def ensure_physion_demo(
    root: str | Path, settings: dict | None = None, *, workers: int = 1, progress: bool = True
) -> list[Path]:
    """Make ``root`` hold the demo MP4s (generating only what is missing); returns their paths.

    ``settings`` overrides keys of DEMO_SETTINGS (e.g. fewer trials in tests)."""
    root = Path(root)
    settings = {**DEMO_SETTINGS, **(settings or {})}
    marker = root / MARKER
    if marker.is_file():
        recorded = json.loads(marker.read_text())
        if recorded["settings"] != settings:
            raise ValueError(
                f"{root}: holds a built-in dataset made with other settings ({recorded['settings']}); "
                f"delete the folder or point data.path elsewhere"
            )
        files = [root / name for name in recorded["files"]]
        if all(f.is_file() for f in files):
            return files
    # pybullet is imported here, so commands that never build the demo do not load the engine
    from physion.generation.generate_store import generate
    from physion.storage.store import TrialStore, read_trial

    store_dir = root / ".store"  # hidden: the video-folder scan skips it
    log.info("generating the built-in demo videos in %s (%s)", root, settings)
    generate(
        store_dir,
        scenarios=settings["scenarios"],
        counts=settings["counts"],
        resolution=settings["render_resolution"],
        num_frames=settings["num_frames"],
        fps=settings["fps"],
        workers=workers,
        seed=settings["seed"],
        progress=progress,
    )
    store = TrialStore(store_dir)
    files = []
    for split, count in settings["counts"].items():
        if count == 0:
            continue
        for trial_path in store.trials(split):
            out = root / split / trial_path.parent.name / f"{trial_path.stem}.mp4"
            if not out.is_file():
                write_video(out, read_trial(trial_path).frames, fps=settings["fps"])
            files.append(out)
    write_json_atomic(marker, {"settings": settings, "files": [f.relative_to(root).as_posix() for f in files]})
    shutil.rmtree(store_dir)
    return files
