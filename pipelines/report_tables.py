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


def reference_section() -> str:
    lines = ["## Published reference figures (real Physion, not this run)", "",
             "Measured by others on the real benchmark; this run uses generated Physion-style stimuli, so only the "
             "protocol and the ordering compare.", "", "| model | accuracy |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in REFERENCES]
    return "\n".join(lines)
