"""How real Physion stimulus names encode their scenario.

Names are ``<subset>_<NNNN>``, where the subset is the tdw_physics output folder, e.g.
``pilot_dominoes_1mid_J025R45_boxroom_0003`` or ``pilot-containment-bowl_0012``. The scenario shows as a
word of the subset (checked in the order below: ``rollingSliding_simple_collision`` is Roll, not Collide).
Drape (cloth) subsets are named ``test10`` .. ``test18`` in the readout set, the only names without a
descriptive word: that rule is an inference from the published label CSV, so layouts with scenario
folders always take the scenario from the folder, and this is only the last resort.
"""
from __future__ import annotations

import re

_WORD_TO_SCENARIO = (
    ("rollingsliding", "Roll"),
    ("containment", "Contain"),
    ("dominoes", "Dominoes"),
    ("towers", "Support"),
    ("linking", "Link"),
    ("collision", "Collide"),
    ("drop", "Drop"),
    ("clothsagging", "Drape"),
    ("cloth", "Drape"),
    ("drape", "Drape"),
)
_DRAPE_SUBSET = re.compile(r"^test\d+_\d+$")


def scenario_from_stimulus_name(name: str) -> str | None:
    """The scenario a real Physion stimulus name encodes, or None when it encodes none we know."""
    words = {w.lower() for w in re.split(r"[_\-]", name)}
    for word, scenario in _WORD_TO_SCENARIO:
        if word in words:
            return scenario
    if _DRAPE_SUBSET.match(name):
        return "Drape"
    return None
