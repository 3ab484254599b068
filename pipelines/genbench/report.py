"""results.json (everything) and results.md (the results table, and the model against each no-model baseline as
paired differences) of a gen-bench run, both written atomically.

Every row carries its data settings (n_real, n_fake, frames, stride, resolution, split) beside the figures, so a
figure copied out of the table keeps what it was measured on.
"""

from __future__ import annotations

from pathlib import Path

from physion.atomic import atomic_path, write_json_atomic
from pipelines.genbench.baselines import BASELINES
from pipelines.reporting.plots import per_position_chart

PER_POSITION_PNG = "psnr_per_position.png"

COLUMNS = ("task", "{fd}", "PSNR (dB)", "SSIM", "MSE", "n_real", "n_fake", "frames", "stride", "resolution", "split")


def _fmt(value, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _fmt_fd(value) -> str:
    """FVDs are hundreds; other networks' distances may be far below 1, where fixed decimals would print 0.00."""
    return "–" if value is None else f"{value:.2f}" if abs(value) >= 1 else f"{value:.3g}"


def _table_row(row: dict, name: str, fd: str, frame: dict, n_real) -> str:
    """One line of the table: ``name``, its distance and frame metrics, then the row's data settings."""
    cells = [name, fd, _fmt(frame.get("psnr"), 2), _fmt(frame.get("ssim"), 4), _fmt(frame.get("mse"), 5), str(n_real)]
    cells += [str(row[key]) for key in ("n_fake", "frames", "stride", "resolution")] + [str(row["split"] or "-")]
    return "| " + " | ".join(cells) + " |"


def markdown(results: dict) -> str:
    """The results table plus the settings every figure depends on."""
    fd_label = results["feature_net"]["label"] if results["feature_net"] else "FVD"
    data, sampler = results["data"], results["sampler"]
    lines = [
        f"# Generation benchmark: {results['name']}",
        "",
        f"- checkpoint: `{results['checkpoint']}`",
        f"- real data: `{data['root']}` (split {data['split'] or '-'}, {data['videos']} videos, clips "
        f"{data['clip_mode']}, centre crop); clips of {data['clip_length']} frames every "
        f"{data['frame_stride']} source frames at {data['resolution'][0]} px",
        f"- sampler: {sampler['method']}, {sampler['steps']} steps, eta {sampler['eta']}; seed {results['seed']}",
    ]
    if results["feature_net"]:
        net = results["feature_net"]
        lines.append(
            f"- {net['label']}: `{net['path']}` ({net['network']}), input in [{net['input_range']}], "
            f"resized to {net['resize'] or 'native'} px, {net['frames']}-frame clips"
        )
    else:
        lines.append("- no feature network configured: no FVD")
    lines += [
        "- PSNR / SSIM / MSE: [0, 1] pixels, generated frames only, against the held-out real frames",
        "",
        "| " + " | ".join(c.format(fd=fd_label) for c in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for row in results["tasks"]:
        frame = row.get("frame_metrics") or {}
        n_real = row["n_real"] if row.get("fd") is not None else "–"
        lines.append(_table_row(row, row["task"], _fmt_fd(row.get("fd")), frame, n_real))
        # what the no-model guesses score on the same clips and frames
        for key, baseline in BASELINES.items():
            if row.get(key):
                lines.append(_table_row(row, f"{row['task']}: {baseline.label}", "–", row[key], "–"))
    paired = [row for row in results["tasks"] if row.get("paired")]
    if paired:
        lines += [
            "",
            "Model minus baseline on the same frames: mean difference [paired 95% interval, resampling whole videos]",
            "",
            "| task | baseline | PSNR (dB) | SSIM | MSE | videos |",
            "|---|---|---|---|---|---|",
        ]
        for row in paired:
            for key, diff in row["paired"].items():
                cells = [
                    _fmt_difference(diff[m], spec) for m, spec in (("psnr", "+.2f"), ("ssim", "+.4f"), ("mse", "+.1e"))
                ]
                lines.append(
                    f"| {row['task']} | {BASELINES[key].label} | " + " | ".join(cells) + f" | {diff['videos']} |"
                )
    return "\n".join(lines) + "\n"


def _fmt_difference(d: dict, spec: str) -> str:
    if d["low"] != d["low"]:  # NaN: one video, nothing to resample
        return f"{d['difference']:{spec}} (no interval: one video)"
    return f"{d['difference']:{spec}} [{d['low']:{spec}}, {d['high']:{spec}}]"


def position_curves(results: dict) -> dict[str, dict[str, list]]:
    """{task: {"model" or a baseline's name: PSNR per frame position}} of the tasks scored per frame."""
    curves = {}
    for row in results["tasks"]:
        if row.get("frame_metrics"):
            curves[row["task"]] = {"model": row["frame_metrics"]["per_position"]["psnr"]}
            for key, baseline in BASELINES.items():
                if row.get(key):
                    curves[row["task"]][baseline.label] = row[key]["per_position"]["psnr"]
    return curves


def write_results(out_dir: str | Path, results: dict) -> tuple[Path, Path]:
    """Write OUT/results.json, OUT/results.md and, where frames were scored, OUT/psnr_per_position.png; returns
    the paths of the first two."""
    out_dir = Path(out_dir)
    json_path = write_json_atomic(out_dir / "results.json", results)
    md_path = out_dir / "results.md"
    with atomic_path(md_path) as tmp:
        tmp.write_text(markdown(results), encoding="utf-8")
    curves = position_curves(results)
    if curves:
        per_position_chart(curves, out_dir / PER_POSITION_PNG)
    return json_path, md_path
