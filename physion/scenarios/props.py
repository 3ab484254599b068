"""Small helpers shared by the built-in scenarios: random primitives, materials, and placing them on the floor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from physion.engine import AGENT_RED, PATIENT_YELLOW, Material, Part, World
from physion.engine.shapes import Vec3

if TYPE_CHECKING:
    from physion.scenarios.rehearsal import Spot


def random_solid(
    rng: np.random.Generator, half_size: tuple[float, float], shapes: Sequence[str] = ("box", "cylinder", "sphere")
) -> Part:
    """A box, upright cylinder or sphere whose half width is drawn from ``half_size`` (metres)."""
    kind = shapes[int(rng.integers(len(shapes)))]
    s = float(rng.uniform(*half_size))
    if kind == "box":
        return Part(
            "box",
            (s * float(rng.uniform(0.85, 1.15)), s * float(rng.uniform(0.85, 1.15)), s * float(rng.uniform(0.85, 1.3))),
        )
    if kind == "cylinder":
        return Part("cylinder", (s, 2.0 * s * float(rng.uniform(0.85, 1.4))))
    if kind == "sphere":
        return Part("sphere", (s,))
    raise ValueError(f"unknown solid {kind!r}")


def half_height(part: Part) -> float:
    """Half the vertical extent of an unrotated primitive."""
    if part.shape == "box":
        return float(part.size[2])
    if part.shape == "cylinder":
        return 0.5 * float(part.size[1])
    return float(part.size[0])


def half_width(part: Part) -> float:
    """Radius of the smallest vertical cylinder around an unrotated primitive (its reach on the floor)."""
    if part.shape == "box":
        return float(np.hypot(part.size[0], part.size[1]))
    return float(part.size[0])


def random_material(
    rng: np.random.Generator,
    friction: tuple[float, float] = (0.3, 0.7),
    restitution: tuple[float, float] = (0.1, 0.5),
    rolling: float = 0.002,
) -> Material:
    """Friction and restitution drawn uniformly; a little rolling friction so spheres come to rest."""
    return Material(
        friction=float(rng.uniform(*friction)),
        restitution=float(rng.uniform(*restitution)),
        rolling_friction=rolling,
        spinning_friction=0.001,
    )


def on_floor(
    world: World,
    part: Part,
    x: float,
    y: float,
    *,
    mass: float,
    color: Sequence[float],
    material: Material,
    yaw: float = 0.0,
    z: float = 0.0,
) -> int:
    """``part`` standing upright with its bottom at height ``z`` (default: on the floor)."""
    return world.primitive(
        part, (x, y, z + half_height(part)), mass=mass, color=color, material=material, euler=(0.0, 0.0, yaw)
    )


def agent_from_layout(world: World, layout: Any) -> int:
    """The red agent from a layout's ``agent`` part, ``agent_start``, ``agent_mass``, ``agent_euler`` and
    ``agent_material`` (Drop, Roll)."""
    return world.primitive(
        layout.agent,
        layout.agent_start,
        mass=layout.agent_mass,
        color=AGENT_RED,
        euler=layout.agent_euler,
        material=layout.agent_material,
    )


def patient_on_floor(world: World, layout: Any, spot: "Spot") -> int:
    """The yellow patient standing on the floor at ``spot``, from a layout's ``patient`` part, ``patient_mass`` and
    ``patient_material`` (Drop, Roll)."""
    return on_floor(
        world,
        layout.patient,
        spot.x,
        spot.y,
        mass=layout.patient_mass,
        color=PATIENT_YELLOW,
        material=layout.patient_material,
        yaw=spot.yaw,
    )


def patient_zone(world: World, half: Sequence[float], spot: "Spot") -> int:
    """The yellow patient as a static flat zone of half sizes ``half`` at ``spot`` (Support, Link, Drape)."""
    return world.box(
        half,
        (spot.x, spot.y, half[2]),
        mass=0.0,
        color=PATIENT_YELLOW,
        euler=(0.0, 0.0, spot.yaw),
        material=Material(friction=0.6, restitution=0.1),
    )


def describe(part: Part, position: Vec3 | Sequence[float], mass: float, material: Material, **extra) -> dict:
    """A json-friendly record of one body's drawn parameters."""
    return {
        "shape": part.shape,
        "size": [float(s) for s in part.size],
        "position": [float(v) for v in position],
        "mass": float(mass),
        **material.params(),
        **extra,
    }


def free_spot(
    rng: np.random.Generator,
    taken: list[tuple[float, float, float]],
    radius: float,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    clearance: float = 0.05,
    tries: int = 40,
) -> tuple[float, float] | None:
    """A uniform (x, y) in the ranges whose disc of ``radius`` keeps ``clearance`` from every (x, y, r) in ``taken``.

    Returns None when ``tries`` draws all collide (the caller then places fewer objects); appends the spot to ``taken``.
    """
    for _ in range(tries):
        x, y = float(rng.uniform(*x_range)), float(rng.uniform(*y_range))
        if all(np.hypot(x - tx, y - ty) >= radius + tr + clearance for tx, ty, tr in taken):
            taken.append((x, y, radius))
            return x, y
    return None
