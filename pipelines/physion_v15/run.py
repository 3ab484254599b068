"""v1.5 evaluation of a run: the harness's windows on the run's store through the adapter (``v15-eval``), the
extract stage's arrays as harness files (``v15-export``), and both readouts on any harness folder
(``v15-readout``). Phases: our ``readout`` split is the harness's ``train``, ``test`` its ``test``."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from physion.atomic import write_json_atomic
from physion.datasets import TrialDataset
from physion.errors import PhysionDataError
from physion.storage.hdf5_header import read_header
from pipelines.config.loading import section_hash
from pipelines.config.physion_run import PhysionRunConfig
from pipelines.physion_v15.adapter import VDTFeatureExtractor
from pipelines.physion_v15.interchange import (
    PHASES,
    HarnessSplit,
    group_rows,
    harness_files,
    read_harness_folder,
    write_harness_split,
)
from pipelines.physion_v15.readout import both_readouts
from pipelines.physion_v15.windows import window_indices
from pipelines.stages.context import RunContext, StageConflictError, StageOrderError
from pipelines.stages.layout import V15_RESULTS, features_file, v15_export_folder, v15_folder

log = logging.getLogger(__name__)
PHASE_SPLITS = {"train": "readout", "test": "test"}
V15_EVAL_RECORD = "v15_eval.json"  # the key of the model and settings a v15-eval folder was made with


def contact_frame_label(header) -> int:
    """The harness's ``contact_frame_label``: the first contact of a positive trial; for a negative one the
    stand-in v1.5 stores (kept by our import), else the middle frame, as the harness's own ``get_label`` does."""
    if header.label and header.first_contact_frame is not None:
        return int(header.first_contact_frame)
    stored = header.params.get("v15_contact_frame_label")
    return int(stored) if stored is not None else header.num_frames // 2


class WindowDataset(TrialDataset):
    """Trials of a store with the frames of a v1.5 task window -> dict(frames (T, 3, res, res) in [-1, 1],
    label, name, scenario, frame_label, frame_indices).

    A store keeping every k-th frame only (ours, generated: ``data.frame_stride``) cannot serve an OCD window
    centred on an arbitrary contact frame, so there each window frame is rounded down to a stored one
    (``rounded`` counts the trials this changed); real v1.5 imports keep every frame and get the harness's frames."""

    def __init__(self, store, split, scenario, task, resolution, frame_gap, min_frames, frame_offset=1):
        self.task, self.frame_gap, self.min_frames = task, frame_gap, min_frames
        self.rounded = 0
        # frame_offset: the run's, which its store serves (the header check refuses a stride that does not divide it)
        super().__init__(
            store, split, num_frames=1, frame_offset=frame_offset, resolution=resolution, scenarios=[scenario]
        )

    @staticmethod
    def _stored(indices: np.ndarray, stride: int, num_frames: int) -> np.ndarray:
        return np.minimum(indices // stride * stride, (num_frames - 1) // stride * stride)

    def __getitem__(self, index: int) -> dict:
        entry = self.entries[index]
        header = read_header(entry.path)
        frame_label = contact_frame_label(header)
        indices = window_indices(
            self.task,
            entry.name,
            entry.num_frames,
            self.frame_gap,
            self.min_frames,
            contact_frame=frame_label,
            collision=entry.scenario == "Collide",
        )
        if entry.frame_stride > 1:
            stored = self._stored(indices, entry.frame_stride, entry.num_frames)
            self.rounded += int(not np.array_equal(stored, indices))
            indices = stored
        return {
            "frames": self._load(entry, indices),
            "label": int(entry.label),
            "name": entry.name,
            "scenario": entry.scenario,
            "frame_label": frame_label,
            "frame_indices": indices,
        }


def extractor_for(ctx: RunContext, scenario: str) -> VDTFeatureExtractor:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return VDTFeatureExtractor(ctx.model_path(scenario), ctx.config).to(device)  # v15 settings, as the harness


def evaluate_windows(ctx: RunContext, task: str) -> tuple[Path, dict[str, Any]]:
    """Harness files of ``task`` for the run's readout (train) and test trials, features by the run's VDT
    through the adapter -> (folder, what was made). A phase whose files exist is kept, as long as the folder was
    made from the same pretrained model and v15 settings (``v15_eval.json``); otherwise it is refused, never mixed."""
    folder = v15_folder(ctx, task)
    key = section_hash(ctx.key("pretrain"), str(ctx.pretrain_root), ctx.config.v15, ctx.config.extract, task)
    record = folder / V15_EVAL_RECORD
    if record.is_file():
        old = json.loads(record.read_text(encoding="utf-8")).get("key")
        if old != key:
            raise StageConflictError(
                folder,
                f"holds v1.5 {task} features of another model or config (key {old}, now {key})",
                hint=f"delete {folder} to redo them",
            )
    else:
        write_json_atomic(record, {"task": task, "key": key})
    extractors: dict[str, VDTFeatureExtractor] = {}
    rounded: dict[str, int] = {}
    for phase, split in PHASE_SPLITS.items():
        if harness_files(folder, phase)["features"].is_file():
            continue
        feats, labels, names, frame_labels, scen = [], [], [], [], []
        for scenario in ctx.scenario_names():
            group = ctx.group_of(scenario)
            if group not in extractors:
                extractors[group] = extractor_for(ctx, scenario)
            ex = extractors[group]
            data = WindowDataset(
                ctx.store,
                split,
                scenario,
                task,
                ex.resolution,
                ex.frame_gap,
                ex.min_frames,
                frame_offset=ctx.config.model.frame_offset,
            )
            size = ctx.config.v15.batch_size
            for start in tqdm(
                range(0, len(data), size), desc=f"v15 {task} {phase} {scenario}", disable=not ctx.progress
            ):
                items = [data[i] for i in range(start, min(len(data), start + size))]
                feats.append(ex.frame_features(torch.stack([it["frames"] for it in items])).cpu().numpy())
                for it in items:
                    labels.append(it["label"])
                    names.append(it["name"])
                    frame_labels.append(it["frame_label"])
                    scen.append(scenario)
            if data.rounded:
                log.warning(
                    "v1.5 %s %s %s: %d of %d windows rounded down to the frames the store keeps (frame_stride)",
                    task,
                    phase,
                    scenario,
                    data.rounded,
                    len(data),
                )
            rounded[f"{phase}/{scenario}"] = data.rounded
        if not names:
            raise PhysionDataError(ctx.store, f"no {split} trials of {ctx.scenario_names()} for the v1.5 {phase} phase")
        split_data = HarnessSplit(
            np.concatenate(feats), np.array(labels), names, np.array(frame_labels), group_rows(scen)
        )
        write_harness_split(folder, phase, split_data)
        log.info(
            "v1.5 %s %s: %d trials, features %s -> %s", task, phase, len(names), split_data.features.shape[1:], folder
        )
    return folder, {"windows_rounded_to_stored_frames": rounded}


def export_extracted(ctx: RunContext, array: str) -> Path:
    """The extract stage's ``array`` of the readout (train) and test splits as harness files; a 2-D array
    (trials, features) becomes [N, 1, F]. frame_labels: the trials' contact frame labels from the store."""
    folder = v15_export_folder(ctx, array)
    for phase, split in PHASE_SPLITS.items():
        feats, labels, names, frame_labels, scen = [], [], [], [], []
        for scenario in ctx.scenario_names():
            path = features_file(ctx, split, scenario)
            if not path.is_file():
                raise StageOrderError(path, "no extracted features", hint="run the extract stage first")
            with np.load(path) as f:
                if array not in f.files:
                    arrays = sorted(k for k in f.files if k not in ("names", "labels"))
                    raise PhysionDataError(path, f"no array {array!r}; it has {arrays}")
                x = f[array].astype(np.float32)
                feats.append(x[:, None] if x.ndim == 2 else x.reshape(len(x), x.shape[1], -1))
                trial_names = [str(n) for n in f["names"]]
                labels += f["labels"].astype(np.int64).tolist()
            headers = {
                e.name: e
                for e in TrialDataset(
                    ctx.store,
                    split=split,
                    scenarios=[scenario],
                    num_frames=1,
                    frame_offset=ctx.config.model.frame_offset,
                    resolution=ctx.config.model.resolution,
                ).entries
            }
            frame_labels += [
                contact_frame_label(read_header(headers[n].path)) if n in headers else -1 for n in trial_names
            ]
            names += trial_names
            scen += [scenario] * len(trial_names)
        write_harness_split(
            folder,
            phase,
            HarnessSplit(np.concatenate(feats), np.array(labels), names, np.array(frame_labels), group_rows(scen)),
        )
    return folder


def read_out(folder: str | Path, config: PhysionRunConfig, sources: dict[str, Any] | None = None) -> dict[str, Any]:
    """Both readouts on a harness folder (ours or the harness's); ``folder/vdt_physion_readout.json``."""
    folder = Path(folder)
    results = both_readouts(read_harness_folder(folder), config.v15, config.readout, config.seed)
    results["folder"] = str(folder)
    if sources:
        results["sources"] = sources
    write_json_atomic(folder / V15_RESULTS, results)
    return results


def summary_lines(results: dict[str, Any]) -> list[str]:
    lines = [
        f"{results['folder']}: {results['train_trials']} train / {results['test_trials']} test trials, "
        f"{results['feature_width']} features"
    ]
    for kind in ("all_scenarios", "per_scenario"):
        if kind not in results:
            continue
        r = results[kind]
        per = ", ".join(f"{k} {v['accuracy']:.3f}" for k, v in r["scenarios"].items())
        lines.append(f"  {r['readout']}: mean over scenarios {r['mean_scenario_accuracy']:.3f} ({per})")
    return lines


__all__ = ["PHASES", "evaluate_windows", "export_extracted", "read_out", "summary_lines"]
