"""Link: a ball rolls into a stack of ring-like links, around an optional pole on a base; does the red link land on
the yellow zone?

A thin static base plate sits at the origin; in half the scenes a pole rises from it. 2-5 rings (each a hexagonal
loop of capsules, so a pole can pass through its hole) are stacked on the plate, around the pole if there is one, a
little off-centre and turned at random. The red agent is the top ring, or sometimes one lower down. A heavy ball rolls
down a ramp on the left (-x) and into the stack (the ramp makes the run slow to start, so the hit comes late).
Without a pole the rings slide and scatter; with one they can only slide as far as the pole lets them, unless the hit
lifts a ring over its top.

The hint places the zone (a flat static slab): the scene is rehearsed (``rehearsal``) and the zone goes where the red
ring lands after the observed frames (positives), or just beside its path (negatives).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physion.engine import (
    AGENT_RED,
    CameraRig,
    Material,
    Part,
    World,
    box_stand_in,
    ring_parts,
    wedge_mesh,
)
from physion.engine.palette import distinct_distractor_colors
from physion.scenarios.base import Push, Scenario, SceneObjects
from physion.scenarios.props import patient_zone
from physion.scenarios.rehearsal import Plan, Spot, build_with_patient, ring_zone_plan

PLATE_THICKNESS = 0.012
ZONE_THICKNESS = 0.008


@dataclass
class _Ring:
    radius: float
    tube: float
    x: float
    y: float
    z: float  # centre height
    yaw: float
    mass: float
    color: tuple[float, float, float]


@dataclass
class _Layout:
    plate_half: float
    pole: tuple[float, float] | None  # radius, height
    base_color: tuple[float, float, float]
    rings: list[_Ring]
    agent_index: int
    ring_material: Material
    ramp: tuple[float, float, float, float]  # length, width, height, x of the ramp's centre
    ramp_color: tuple[float, float, float]
    ball_radius: float
    ball_mass: float
    ball_start: tuple[float, float, float]
    ball_nudge: float
    ball_color: tuple[float, float, float]
    zone_half: tuple[float, float, float]


class Link(Scenario):
    name = "Link"
    camera_rig = CameraRig(target=(-0.2, 0.15, 0.2), distance=3.5, elevation=28.0, azimuth=0.0)

    def build(self, world: World, rng: np.random.Generator, want_label: bool | None) -> SceneObjects:
        return build_with_patient(self, world, rng, want_label, lambda: self._plan(rng, want_label), attempts=4)

    def _plan(self, rng: np.random.Generator, want_label: bool | None) -> Plan:
        layout = self._draw(rng, want_label)
        return ring_zone_plan(self, layout, rng, layout.plate_half * 1.5, 0.7)

    def _draw(self, rng: np.random.Generator, want_label: bool | None) -> _Layout:
        colors = distinct_distractor_colors(rng, 9)
        count = int(rng.integers(2, 6))
        radius = float(rng.uniform(0.1, 0.16))
        tube = float(rng.uniform(0.018, 0.028))
        pole = None
        if rng.random() < 0.4:  # a pole (independent of the wanted label: its presence must not give the answer away)
            pole = (float(rng.uniform(0.025, 0.045)), float(rng.uniform(0.25, 0.55)))
        # Off-centre wobble: within what the pole allows (the hexagonal hole's narrowest radius is
        # radius * cos(30 deg) - tube).
        room = min(radius * np.cos(np.pi / 6) - tube - pole[0] - 0.008, 0.15 * radius) if pole else 0.15 * radius
        density = float(rng.uniform(150.0, 400.0))
        rings = []
        for k in range(count):
            wobble = rng.uniform(-1.0, 1.0, size=2) * room / np.sqrt(2.0)
            z = PLATE_THICKNESS + tube * (2 * k + 1)
            volume = 2.0 * np.pi * radius * (2.0 * tube) ** 2
            rings.append(
                _Ring(
                    radius,
                    tube,
                    float(wobble[0]),
                    float(wobble[1]),
                    z,
                    float(rng.uniform(0, np.pi)),
                    float(density * volume),
                    colors[k],
                )
            )
        agent_index = count - 1 if rng.random() < 0.7 else int(rng.integers(0, count))
        rings[agent_index].color = AGENT_RED

        ball_radius = float(rng.uniform(0.1, 0.15))
        length, width, height = (float(v) for v in rng.uniform([0.8, 0.4, 0.12], [1.1, 0.6, 0.22]))
        ramp_x = -(radius + 0.05) - float(rng.uniform(0.15, 0.35)) - 0.5 * length
        # The ball starts near the top of the slope (surface height at local x is height * (0.5 - x / length)).
        local_x = -0.5 * length + float(rng.uniform(0.1, 0.2)) * length
        slope = np.arctan2(height, length)
        surface = height * (0.5 - local_x / length)
        start = (
            ramp_x + local_x + ball_radius * float(np.sin(slope)),
            float(rng.uniform(-0.6, 0.6)) * radius,
            surface + ball_radius * float(np.cos(slope)) + 0.002,
        )
        return _Layout(
            plate_half=radius + 0.03,
            pole=pole,
            base_color=colors[6],
            rings=rings,
            agent_index=agent_index,
            ring_material=Material(friction=float(rng.uniform(0.2, 0.5)), restitution=0.1),
            ramp=(length, width, height, ramp_x),
            ramp_color=colors[8],
            ball_radius=ball_radius,
            ball_mass=float(rng.uniform(3.0, 6.0)),
            ball_start=start,
            ball_nudge=float(rng.uniform(0.0, 0.4)),
            ball_color=colors[7],
            zone_half=(float(rng.uniform(0.15, 0.25)), float(rng.uniform(0.15, 0.25)), 0.5 * ZONE_THICKNESS),
        )

    def _zone(self, world: World, layout: _Layout, spot: Spot) -> int:
        return patient_zone(world, layout.zone_half, spot)

    def _place(self, world: World, layout: _Layout, spot: Spot) -> SceneObjects:
        half = 0.5 * PLATE_THICKNESS
        parts = [Part("box", (layout.plate_half, layout.plate_half, half), offset=(0.0, 0.0, half))]
        if layout.pole is not None:
            pole_radius, pole_height = layout.pole
            parts.append(
                Part("cylinder", (pole_radius, pole_height), offset=(0.0, 0.0, PLATE_THICKNESS + 0.5 * pole_height))
            )
        base = world.compound(
            parts, (0.0, 0.0, 0.0), mass=0.0, color=layout.base_color, material=Material(friction=0.5, restitution=0.1)
        )
        rings = []
        for ring in layout.rings:
            parts = ring_parts(ring.radius, ring.tube)
            rings.append(
                world.compound(
                    parts,
                    (ring.x, ring.y, ring.z),
                    mass=ring.mass,
                    color=ring.color,
                    euler=(0.0, 0.0, ring.yaw),
                    material=layout.ring_material,
                    visual_parts=[box_stand_in(part) for part in parts],
                )
            )
        patient = self._zone(world, layout, spot)
        length, width, height, ramp_x = layout.ramp
        ramp = world.mesh(
            wedge_mesh(length, width, height),
            (ramp_x, 0.0, 0.0),
            mass=0.0,
            color=layout.ramp_color,
            material=Material(friction=0.8, restitution=0.1),
        )
        ball = world.sphere(
            layout.ball_radius,
            layout.ball_start,
            mass=layout.ball_mass,
            color=layout.ball_color,
            material=Material(friction=0.6, restitution=0.2, rolling_friction=0.001, spinning_friction=0.001),
        )
        others = {"ball": ball, "base": base, "ramp": ramp}
        others.update({f"link_{k}": body for k, body in enumerate(rings) if k != layout.agent_index})
        return SceneObjects(
            agent=rings[layout.agent_index],
            patient=patient,
            others=others,
            visible=("ball",),
            pushes=[Push(ball, impulse=(layout.ball_mass * layout.ball_nudge, 0.0, 0.0))],
            params={
                "rings": [
                    {"radius": r.radius, "tube": r.tube, "position": [r.x, r.y, r.z], "yaw": r.yaw, "mass": r.mass}
                    for r in layout.rings
                ],
                "agent_level": layout.agent_index,
                "pole": None if layout.pole is None else {"radius": layout.pole[0], "height": layout.pole[1]},
                "plate_half_width": layout.plate_half,
                "ring_material": layout.ring_material.params(),
                "ball": {
                    "radius": layout.ball_radius,
                    "mass": layout.ball_mass,
                    "start": list(layout.ball_start),
                    "nudge_speed": layout.ball_nudge,
                },
                "ramp": dict(zip(("length", "width", "height", "x"), layout.ramp)),
                "zone_half_extents": list(layout.zone_half),
            },
        )
