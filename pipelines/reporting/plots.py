"""The reports' charts: the readout report's test accuracy per scenario and variant (bootstrap 95% intervals), and
gen-bench's PSNR per frame position of the model and its no-model baselines."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from physion.atomic import atomic_path  # noqa: E402

SERIES = (
    ("vdt", "linear", "VDT tokens"),
    ("vdt-objects", "linear", "VDT tokens under objects"),
    ("objects", "linear", "colour objects"),
    ("pixels", "linear", "pixels"),
)


def accuracy_chart(scenarios: dict, path: str | Path, variants) -> Path:
    names = list(scenarios)
    fig, axes = plt.subplots(1, len(variants), figsize=(4 + 1.3 * len(names) * len(variants) / 2, 3.8), sharey=True)
    width = 0.8 / len(SERIES)
    for ax, variant in zip(np.atleast_1d(axes), variants):
        for k, (fam, kind, label) in enumerate(SERIES):
            key = f"{fam}/{kind}/{variant}"
            acc = np.array([scenarios[s]["readouts"][key]["accuracy"] for s in names])
            low = np.array([scenarios[s]["readouts"][key]["low"] for s in names])
            high = np.array([scenarios[s]["readouts"][key]["high"] for s in names])
            x = np.arange(len(names)) + (k - (len(SERIES) - 1) / 2) * width
            ax.bar(x, acc, width, yerr=[acc - low, high - acc], capsize=2, label=label)
        ax.axhline(0.5, color="grey", lw=0.8, ls="--")
        ax.set_title(variant)
        ax.set_xticks(np.arange(len(names)), names, rotation=45, ha="right", fontsize=8)
        ax.set_ylim(0, 1)
    np.atleast_1d(axes)[0].set_ylabel("test accuracy (95% CI)")
    np.atleast_1d(axes)[-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return Path(path)


def per_position_chart(curves: dict[str, dict[str, list]], path: str | Path, ylabel: str = "PSNR (dB)") -> Path:
    """One panel per task: ``curves[task]`` maps a line's label to its value per frame position (None where the
    position was not generated: given frames leave gaps)."""
    fig, axes = plt.subplots(1, len(curves), figsize=(4.2 * len(curves), 3.4), squeeze=False)
    for ax, (task, lines) in zip(axes[0], curves.items()):
        for label, values in lines.items():
            y = np.array([np.nan if v is None else v for v in values], dtype=float)
            ax.plot(np.arange(len(y)), y, marker="o", ms=3, label=label)
        ax.set_title(task)
        ax.set_xlabel("frame position in the clip")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return Path(path)
