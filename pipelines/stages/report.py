"""Stage 6: ``report/results.json``, ``report/report.md`` (tables, protocol, sizes, seeds, published reference
figures), ``report/accuracy.png`` (accuracy per scenario with 95% intervals) and rollout strips
(``report/strips/<scenario>.png``: true | predicted rows, observed frames framed green)."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

import torch
import yaml

from physion.atomic import atomic_path, write_json_atomic
from pipelines.config.loading import dump_config
from pipelines.config.physion_run import VARIANTS
from pipelines.reporting.plots import accuracy_chart
from pipelines.reporting.strips import video_strip
from pipelines.reporting.tables import (
    PRIMARY,
    accuracy_table,
    comparison_table,
    headline,
    pooled_table,
    reference_section,
)
from pipelines.stages import trials as trial_sets
from pipelines.stages.context import RunContext
from pipelines.stages.layout import load_predictions, readout_results, report_file, strip_file
from pipelines.training import load_trained

log = logging.getLogger(__name__)


def _final_losses(ctx: RunContext) -> dict[str, dict]:
    root = ctx.pretrain_root or ctx.stage_dir("pretrain")
    out = {}
    for csv_path in sorted(root.glob("*/loss.csv")):
        rows = list(csv.DictReader(open(csv_path)))
        if rows:
            out[csv_path.parent.name] = {"step": int(rows[-1]["step"]), "loss": float(rows[-1]["loss"])}
    return out


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}


def data_by_stage(ctx: RunContext) -> dict[str, dict]:
    """Which trials every stage used: the store, how it was made (generated here or an existing one: real
    Physion imported, or a store made earlier), and the splits. The pretraining data of a run that borrows its
    models (a mixed run's pretraining part, or the parent of an evaluate run) is read from that run's folder."""
    c = ctx.config
    own = {"source": c.data.source, "store": str(ctx.store)}
    if ctx.pretrain_root is None:
        pre = dict(own)
        pre_counts = ((ctx.manifest("generate") or {}).get("counts") or {}).get("training")
    else:
        parent = ctx.pretrain_root.parent
        pre_config = yaml.safe_load((parent / "config.yaml").read_text()) if (parent / "config.yaml").is_file() else {}
        pre_data = (pre_config or {}).get("data") or {}
        gen = _read_json(parent / "generate" / "manifest.json")
        source = pre_data.get("source", "?")
        pre = {"source": source, "store": gen.get("store") or pre_data.get("store"), "run": str(parent)}
        pre_counts = (gen.get("counts") or {}).get("training")
    manifest = _read_json(ctx.pretrain_root / "manifest.json") if ctx.pretrain_root else ctx.manifest("pretrain")
    models = (manifest or {}).get("models", {})
    pre.update(
        split="training",
        trials_per_scenario=pre_counts,
        training_trials={g: m.get("training_trials") for g, m in models.items()},
    )
    readout_split, test_split = ctx.splits
    made = (["training"] if ctx.pretrain_root is None else []) + list(ctx.splits)  # the splits this run reads there
    return {
        "generate": {**own, "splits": made},
        "pretrain": pre,
        **(
            {"slots": {**{k: pre[k] for k in ("source", "store")}, "split": "training"}}
            if ("slots", "relational") in c.readout.pairs
            else {}
        ),
        **{stage: {**own, "splits": list(ctx.splits)} for stage in ("rollout", "extract")},
        "readout": {**own, "fit": readout_split, "score": test_split},
    }


def _describe(d: dict) -> str:
    how = "generated here with pybullet" if d.get("source") == "generate" else "an existing store"
    return f"`{d.get('store')}` ({how})"


def data_lines(stages: dict[str, dict]) -> list[str]:
    mixed = stages["pretrain"].get("store") != stages["readout"].get("store")
    lines = [
        "## Data used by every stage",
        "",
        "A **mixed run**: pretrained on one set of trials, read out on another."
        if mixed
        else "One store for every stage.",
        "",
        "| stage | trials from | splits |",
        "|---|---|---|",
    ]
    for stage, d in stages.items():
        splits = d.get("split") or ", ".join(d.get("splits", [])) or f"fit {d.get('fit')}, score {d.get('score')}"
        extra = ""
        if stage == "pretrain" and d.get("training_trials"):
            extra = " (" + ", ".join(f"{g}: {n} trials" for g, n in d["training_trials"].items()) + ")"
        if stage == "pretrain" and d.get("run"):
            extra += f", pretrained in `{d['run']}`"
        lines.append(f"| {stage} | {_describe(d)}{extra} | {splits} |")
    return lines


def _strips(ctx: RunContext) -> list[str]:
    n = ctx.config.report.strips
    if n == 0:
        return []
    n_obs = trial_sets.observed_count(ctx)
    split = ctx.splits[-1]
    written = []
    for scenario in ctx.scenario_names():
        dataset = trial_sets.trial_dataset(ctx, split, scenario)
        predictions = load_predictions(ctx, split, scenario)
        space = load_trained(ctx.model_path(scenario), ctx.config.latent).space  # the rollouts' latents
        rows = []
        for i in range(min(n, len(dataset))):
            item = dataset[i]
            predicted = space.decode(predictions[item["name"]][None]).squeeze(0)
            label = "touch" if item["label"] > 0.5 else "no touch"
            rows += [
                (f"true: {label}", item["frames"]),
                (f"predicted #{i}", torch.cat([item["frames"][:n_obs], predicted.float()])),
            ]
        path = video_strip(rows, strip_file(ctx, scenario), given=n_obs, scale=2, label_width=110)
        written.append(str(path))
    return written


def run(ctx: RunContext) -> dict[str, Any]:
    c = ctx.config
    readout = json.loads(readout_results(ctx).read_text())
    generate = ctx.manifest("generate") or {}
    pretrain = ctx.manifest("pretrain") or {}
    results = {
        "name": c.name,
        "protocol": c.protocol,
        "seeds": {"run": c.seed, "data": c.data.seed, "rollout": c.rollout.seed},
        "data": {"store": generate.get("store"), "counts": generate.get("counts"), "source": c.data.source},
        "data_by_stage": data_by_stage(ctx),
        "pretraining": {
            "models": pretrain.get("models", {}),
            "final_loss": _final_losses(ctx),
            "steps": c.pretrain.steps,
            "model": c.model.model_dump(mode="json"),
            "latent": c.latent.model_dump(mode="json"),
        },
        "rollout": {
            k: (ctx.manifest("rollout") or {}).get(k)
            for k in ("sampler", "pixel_mse", "pixel_mse_by_split", "frame_change_std")
        },
        "readout": readout,
        "comparisons": {
            "pooled": readout["pooled"]["comparisons"],
            **{sc: r["comparisons"] for sc, r in readout["scenarios"].items()},
        },
    }
    write_json_atomic(report_file(ctx, "results.json"), results)
    chart = accuracy_chart(readout["scenarios"], report_file(ctx, "accuracy.png"), VARIANTS)
    strips = _strips(ctx)
    chosen = c.readout.pairs
    linear = [r for r in chosen if r[1] == "linear"]
    relational = [r for r in chosen if r[1] == "relational"]
    lines = [
        f"# Physion readout report: {c.name}",
        "",
        headline(readout["pooled"]),
        "",
        f"Protocol **{c.protocol}** (pretraining groups: "
        + ", ".join(
            f"{g}: {len(m.get('scenarios', []))} scenario(s), {m.get('training_trials', '?')} training trials"
            for g, m in results["pretraining"]["models"].items()
        )
        + ").",
        f"VDT {c.model.size} {c.model.overrides or ''} on {c.latent.kind} at {c.model.resolution} px, "
        f"{c.model.num_frames}-frame window, {c.model.n_given} given, frame offset {c.model.frame_offset}; "
        + (
            f"started from the pretrained `{c.model.init_checkpoint}` and fine-tuned for "
            if c.model.init_checkpoint is not None
            else "trained from scratch for "
        )
        + f"{c.pretrain.steps} steps, {c.pretrain.prediction} target on "
        f"{'normalised ' if c.latent.fits_normalization else ''}{c.latent.kind} (final loss: "
        + ", ".join(f"{g} {v['loss']:.4f}" for g, v in results["pretraining"]["final_loss"].items())
        + ").",
        f"Rollout sampler: {c.rollout.sampler.method} {c.rollout.sampler.steps} steps "
        f"({c.rollout.sampler.timestep_spacing()}"
        + (
            f", from the last given frame noised to t = {c.rollout.sampler.start_step}"
            if c.rollout.sampler.start_step is not None
            else ""
        )
        + "). "
        f"Seeds: run {c.seed}, data {c.data.seed}, rollout {c.rollout.seed}.",
        "",
        "Test accuracy with a bootstrap 95% interval; every choice (C, PCA dimension, epoch, threshold) was "
        "made on the readout split only. *observed*: first 1.5 s; *simulated*: observed + VDT rollout; "
        "*copy-last*: observed + the last observed frame repeated (the control); *full*: observed + true "
        "future (upper bound). *objects*: the red agent and yellow patient found by colour in the frames; "
        "*vdt-objects*: VDT tokens pooled under those objects.",
        "",
        "## Does the rollout help?",
        "",
        f"The question this report answers: does the VDT's rollout (*simulated*) let a readout predict contact "
        f"better than the observed frames alone, or than freezing the last observed frame? Test accuracy "
        f"differences in points, paired bootstrap 95% intervals over the same test trials (headline: "
        f"{PRIMARY}).",
        "",
        "### simulated - observed",
        "",
        comparison_table(readout["scenarios"], readout["pooled"], chosen, "simulated-observed"),
        "",
        "### simulated - copy-last",
        "",
        comparison_table(readout["scenarios"], readout["pooled"], chosen, "simulated-copy-last"),
        "",
        "## Pooled test accuracy",
        "",
        f"All {readout['pooled']['test_trials']} test trials together (each scenario's own readouts).",
        "",
        pooled_table(readout["pooled"], chosen, VARIANTS),
        "",
        "## Linear readouts (physopt protocol, PCA dimension chosen with C by CV)",
        "",
        accuracy_table(readout["scenarios"], linear, VARIANTS),
        "",
        "## Relational readouts (SlotFormer-style pairwise, over " + " / ".join(f for f, _ in relational) + ")",
        "",
        accuracy_table(readout["scenarios"], relational, VARIANTS),
        "",
        *data_lines(results["data_by_stage"]),
        "",
        "## Data",
        "",
        "| scenario | readout trials (positive) | test trials (positive) |",
        "|---|---|---|",
    ]
    for sc, r in readout["scenarios"].items():
        lines.append(
            f"| {sc} | {r['readout_trials']} ({r['readout_positive']}) | {r['test_trials']} ({r['test_positive']}) |"
        )
    errors = (ctx.manifest("rollout") or {}).get("pixel_mse", {})
    if errors:
        lines += [
            "",
            "## Rollout error",
            "",
            "Pixel MSE over the predicted frames (values in [-1, 1]), against repeating the last observed frame; "
            "and the standard deviation of the frame-to-frame change (from the last observed frame on), the "
            "rollout's against the true video's: far above 1x is speckle, below it a scene that moves too little. "
            "Choices of sampler and context read the readout split's ratio, not the test split's.",
            "",
            "| scenario | VDT rollout | copy last frame | ratio | ratio, readout split | frame change std, rollout / true |",
            "|---|---|---|---|---|---|",
        ]
        changes = (ctx.manifest("rollout") or {}).get("frame_change_std") or {}
        on_readout = ((ctx.manifest("rollout") or {}).get("pixel_mse_by_split") or {}).get("readout", {})
        for sc, e in errors.items():
            ch = changes.get(sc)
            change = f"{ch['model']:.4f} / {ch['true']:.4f} ({ch['ratio']:.2f}x)" if ch else "not recorded"
            ratio = e["model"] / max(e["copy_last"], 1e-12)
            r = on_readout.get(sc)
            readout_ratio = f"{r['model'] / max(r['copy_last'], 1e-12):.2f}" if r and r["trials"] else "not recorded"
            lines.append(
                f"| {sc} | {e['model']:.4f} | {e['copy_last']:.4f} | {ratio:.2f} | {readout_ratio} | {change} |"
            )
    lines += ["", reference_section(), "", "## Pictures", "", f"![accuracy per scenario]({Path(chart).name})", ""]
    lines += [f"![{Path(s).stem}](strips/{Path(s).name})" for s in strips]
    lines += ["", "## Config", "", "```yaml", dump_config(c).rstrip(), "```", ""]
    with atomic_path(report_file(ctx, "report.md")) as tmp:
        tmp.write_text("\n".join(lines))
    log.info(
        "report: %s (results %s, chart %s, %d strips)",
        report_file(ctx, "report.md"),
        report_file(ctx, "results.json"),
        chart,
        len(strips),
    )
    return {"report": str(report_file(ctx, "report.md")), "chart": str(chart), "strips": strips}
