"""Physion's colour code: the agent is red, the patient (zone) is yellow, everything else is neither.

Colours are RGB in [0, 1]. Distractor and floor colours avoid red, orange and yellow hues so that "the red object"
and "the yellow object" are never ambiguous, in the image or for a readout that looks for them.
"""

from __future__ import annotations

import numpy as np

AGENT_RED = (0.86, 0.08, 0.07)
PATIENT_YELLOW = (0.97, 0.83, 0.07)

# Blues, greens, purples, greys: far from red and yellow in hue.
DISTRACTOR_COLORS = (
    (0.18, 0.38, 0.86),  # blue
    (0.22, 0.62, 0.30),  # green
    (0.52, 0.30, 0.74),  # purple
    (0.12, 0.58, 0.62),  # teal
    (0.42, 0.47, 0.54),  # slate
    (0.14, 0.20, 0.45),  # navy
    (0.55, 0.72, 0.90),  # sky
    (0.80, 0.82, 0.86),  # pale grey
)

# Neutral floors (greys and a greige), darker than the pale distractor so objects stand out.
FLOOR_COLORS = (
    (0.62, 0.61, 0.58),
    (0.55, 0.56, 0.58),
    (0.68, 0.66, 0.62),
    (0.50, 0.50, 0.50),
)


def pick(rng: np.random.Generator, colors: tuple[tuple[float, float, float], ...]) -> tuple[float, float, float]:
    """One colour of ``colors``, drawn with ``rng``."""
    return colors[int(rng.integers(len(colors)))]


def distinct_distractor_colors(rng: np.random.Generator, count: int) -> list[tuple[float, float, float]]:
    """``count`` distractor colours, all different while the palette lasts (then cycling in a random order)."""
    order = rng.permutation(len(DISTRACTOR_COLORS))
    return [DISTRACTOR_COLORS[int(order[k % len(order)])] for k in range(count)]


# Pale walls, like the rooms Physion's scenes stand in.
WALL_COLORS = (
    (0.84, 0.83, 0.80),
    (0.78, 0.80, 0.82),
    (0.86, 0.84, 0.78),
)
