"""How real Physion stimulus names, tdw_physics controllers and Physion v1.5 file names encode their scenario.

Names are ``<subset>_<NNNN>``, where the subset is the tdw_physics output folder, e.g.
``pilot_dominoes_1mid_J025R45_boxroom_0003`` or ``pilot-containment-bowl_0012``. The scenario shows as a
word of the subset (checked in the order below: ``rollingSliding_simple_collision`` is Roll, not Collide).
Drape (cloth) subsets are named ``test10`` .. ``test18`` in the readout set, the only names without a
descriptive word: that rule is an inference from the published label CSV, so layouts with scenario
folders always take the scenario from the folder, and this is only the last resort.

A tdw_physics ``metadata.json`` also names the controller that made each trial; it is a weaker hint than the
name because the benchmark ran its Roll subsets (``pilot_it2_rollingSliding_simple_collision_*``) with the
Collision controller. Physion v1.5 tells its 7 scenarios apart by plain substrings of the file name.
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

# tdw_physics controller class -> scenario (metadata.json ``controller_name``).
CONTROLLER_TO_SCENARIO = {
    "MultiDominoes": "Dominoes",
    "Dominoes": "Dominoes",
    "Tower": "Support",
    "Collision": "Collide",
    "Containment": "Contain",
    "Drop": "Drop",
    "Linking": "Link",
    "RollingSliding": "Roll",
    "ClothSagging": "Drape",
}

# Physion v1.5 (physion_evaluator): case-sensitive substrings of the file name; "collision" only without "roll".
_V15_SUBSTRINGS = (
    ("collision", "Collide"),
    ("drop", "Drop"),
    ("towers", "Support"),
    ("link", "Link"),
    ("roll", "Roll"),
    ("contain", "Contain"),
    ("dominoes", "Dominoes"),
)


def scenario_from_stimulus_name(name: str, *, infer_drape: bool = True) -> str | None:
    """The scenario a real Physion stimulus name encodes, or None when it encodes none we know.

    ``infer_drape=False`` leaves out the ``testNN_NNNN`` -> Drape inference (for callers with better hints left).
    """
    words = {w.lower() for w in re.split(r"[_\-/]", name)}
    for word, scenario in _WORD_TO_SCENARIO:
        if word in words:
            return scenario
    if infer_drape and _DRAPE_SUBSET.match(name):
        return "Drape"
    return None


def scenario_from_controller(controller_name) -> str | None:
    """A tdw_physics controller class name -> scenario, or None for an unknown or missing one."""
    return CONTROLLER_TO_SCENARIO.get(str(controller_name).strip()) if controller_name else None


def v15_scenarios_in_name(name: str) -> list[str]:
    """Every scenario whose Physion v1.5 substring ``name`` holds (exactly one for a well-named file)."""
    found = []
    for key, scenario in _V15_SUBSTRINGS:
        if key in name and not (key == "collision" and "roll" in name) and scenario not in found:
            found.append(scenario)
    return found
