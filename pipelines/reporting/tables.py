"""Markdown pieces of the readout report."""

from __future__ import annotations

# DESIGN.md §4: published figures on REAL Physion (ours are on generated stimuli: compare the protocol and the
# ordering, not the absolute numbers).
REFERENCES = [
    ("Humans (8-scenario mean)", "74.7%"),
    ("Humans, Collide", "81.0%"),
    ("SlotFormer, observed / with dynamics", "65.2% / 67.1%"),
    ("Best vision model in the Physion benchmark", "about 60.5%"),
    ("Particle model with ground-truth state (DPI)", "74.8%"),
    ("VDT (paper), Collide", "65.3% (SlotFormer 69.3% there)"),
]


def _cell(r: dict | None) -> str:
    return "n/a" if r is None else f"{r['accuracy']:.2f} [{r['low']:.2f}, {r['high']:.2f}]"


def accuracy_table(scenarios: dict, readouts: list[tuple[str, str]], variants) -> str:
    """Rows: scenarios and their mean; columns: readout x variant; cells "acc [low, high]"."""
    cols = [(f"{fam}/{kind}/{v}", f"{fam} {v}") for fam, kind in readouts for v in variants]
    lines = ["| scenario | " + " | ".join(title for _, title in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for sc, r in scenarios.items():
        lines.append(f"| {sc} | " + " | ".join(_cell(r["readouts"].get(key)) for key, _ in cols) + " |")
    means = []
    for key, _ in cols:
        accs = [r["readouts"][key]["accuracy"] for r in scenarios.values() if key in r["readouts"]]
        means.append(f"**{sum(accs) / len(accs):.2f}**" if accs else "n/a")
    lines.append("| **mean** | " + " | ".join(means) + " |")
    return "\n".join(lines)


PRIMARY = "vdt-objects/linear"  # the headline readout: the VDT's own features, read where the objects are


def _points(d: dict) -> str:
    return f"{100 * d['difference']:+.1f} points [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}]"


def headline(pooled: dict, readout: str = PRIMARY) -> str:
    """The report's first sentence: what the rollout adds, on the pooled test trials, for ``readout``."""
    c = pooled["comparisons"].get(readout)
    if c is None:
        return f"No {readout} comparison was computed."
    return (
        f"On the {pooled['test_trials']} pooled test trials, with the {readout} readout, the rollout adds "
        f"{_points(c['simulated-observed'])} over the observed frames (95% paired bootstrap) and "
        f"{_points(c['simulated-copy-last'])} over copying the last observed frame."
    )


def pooled_table(pooled: dict, readouts: list[tuple[str, str]], variants) -> str:
    """Rows: readouts; columns: variants, cells: pooled test accuracy "acc [low, high]"."""
    lines = ["| readout | " + " | ".join(variants) + " |", "|---" * (len(variants) + 1) + "|"]
    for fam, kind in readouts:
        cells = [_cell(pooled["readouts"].get(f"{fam}/{kind}/{v}")) for v in variants]
        lines.append(f"| {fam}/{kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def comparison_table(scenarios: dict, pooled: dict, readouts: list[tuple[str, str]], contrast: str) -> str:
    """Rows: readouts; columns: the pooled test trials, then each scenario; cells: the ``contrast`` (e.g.
    "simulated-observed") accuracy difference in points with its paired bootstrap 95% interval."""
    groups = [("**pooled**", pooled)] + list(scenarios.items())
    lines = ["| readout | " + " | ".join(name for name, _ in groups) + " |", "|---" * (len(groups) + 1) + "|"]
    for fam, kind in readouts:
        cells = []
        for _, r in groups:
            c = r.get("comparisons", {}).get(f"{fam}/{kind}")
            cells.append(_points(c[contrast]).replace(" points", "") if c else "n/a")
        lines.append(f"| {fam}/{kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def reference_section() -> str:
    lines = [
        "## Published reference figures (real Physion, not this run)",
        "",
        "Measured by others on the real benchmark; this run uses generated Physion-style stimuli, so only the "
        "protocol and the ordering compare.",
        "",
        "| model | accuracy |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value} |" for name, value in REFERENCES]
    return "\n".join(lines)
