"""The run folder's layout: every artifact path of a run, and the readers of the artifacts one stage leaves for
another. Stages take their paths from here and never import one another (docs/design.md §4).

    RUN/config.yaml, RUN/.run.lock
    RUN/<stage>/started.json, manifest.json                  (RunContext)
    RUN/generate/store/                                      the trial store (source: generate)
    RUN/pretrain/<group>/model.pt (+ checkpoints/, loss.csv, tensorboard/, previews/: pipelines.training)
    RUN/rollout/<split>/<scenario>/chunk-NNNN.pt             predicted latents, pixel MSE, copy-last MSE
    RUN/extract/<split>/<scenario>.npz                       features, arrays named by ``feature_key``
    RUN/extract/slots-<group>.pt                             the slot-attention module
    RUN/readout/results.json, readout/predictions/<scenario>.json
    RUN/report/report.md, results.json, accuracy.png, strips/<scenario>.png
    RUN/v15/<task>/, RUN/v15/export/<array>/  Physion v1.5 harness files (pipelines/physion_v15), not a stage
"""

from __future__ import annotations

from pathlib import Path

import torch

from pipelines.stages.context import RunContext

# Families whose features feed both readout kinds (a vector for the linear one, entities for the relational one).
BOTH_KINDS = ("objects", "vdt-objects")


# ------------------------------------------------------------------------------------------------ rollout


def rollout_chunk(ctx: RunContext, split: str, scenario: str, index: int) -> Path:
    return ctx.stage_dir("rollout") / split / scenario / f"chunk-{index:04d}.pt"


def rollout_chunks(ctx: RunContext, split: str, scenario: str) -> list[Path]:
    return sorted((ctx.stage_dir("rollout") / split / scenario).glob("chunk-*.pt"))


def load_predictions(ctx: RunContext, split: str, scenario: str) -> dict[str, torch.Tensor]:
    """name -> predicted future latents (F, C, h, w), float32, for every trial of the split and scenario (in the
    latents of the model that rolled them out: decode with its ``load_trained(...).space``)."""
    out = {}
    for path in rollout_chunks(ctx, split, scenario):
        chunk = torch.load(path, weights_only=True)
        out.update({name: pred.float() for name, pred in zip(chunk["names"], chunk["predicted"], strict=True)})
    return out


# ------------------------------------------------------------------------------------------------ extract


def features_file(ctx: RunContext, split: str, scenario: str) -> Path:
    return ctx.stage_dir("extract") / split / f"{scenario}.npz"


def feature_key(family: str, kind: str, variant: str) -> str:
    """The npz array of a readout: ``<family>_<variant>``, or ``<family>_entities_<variant>`` for the relational
    input of a family that feeds both kinds."""
    return f"{family}_entities_{variant}" if family in BOTH_KINDS and kind == "relational" else f"{family}_{variant}"


def slots_file(ctx: RunContext, group: str) -> Path:
    """The slot module of a pretrained group; an evaluate run reuses its parent run's."""
    root = ctx.pretrain_root.parent if ctx.pretrain_root is not None else ctx.root
    return root / "extract" / f"slots-{group}.pt"


# ------------------------------------------------------------------------------------------------ readout, report


def readout_results(ctx: RunContext) -> Path:
    return ctx.stage_dir("readout") / "results.json"


def predictions_file(ctx: RunContext, scenario: str) -> Path:
    return ctx.stage_dir("readout") / "predictions" / f"{scenario}.json"


def report_file(ctx: RunContext, name: str) -> Path:
    """``report.md``, ``results.json`` or ``accuracy.png`` of the report stage."""
    return ctx.stage_dir("report") / name


def strip_file(ctx: RunContext, scenario: str) -> Path:
    return ctx.stage_dir("report") / "strips" / f"{scenario}.png"


# ------------------------------------------------------------------------------------------------ Physion v1.5


def v15_folder(ctx: RunContext, task: str) -> Path:
    """Harness feature files of ``v15-eval`` for ``task`` (ocp / ocd): the harness's ``DIR/<mode>`` layout."""
    return ctx.root / "v15" / task


def v15_export_folder(ctx: RunContext, array: str) -> Path:
    """Harness feature files ``v15-export`` writes from the extract stage's ``array`` (``<family>_<variant>``)."""
    return ctx.root / "v15" / "export" / array


V15_RESULTS = "vdt_physion_readout.json"  # beside the harness files it read
