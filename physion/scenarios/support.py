"""Support: a ball rolls into a tower of primitives; does the red object fall onto the yellow zone?

The tower (2-5 boxes and upright cylinders, stacked slightly off-centre) stands at the origin; the red agent is its
top piece, or sometimes one in the middle. A heavy ball rolls in from the left (-x) at a varying speed and
sideways offset, and the yellow zone (a flat static slab) lies somewhere around the tower. A tower may shrug the ball
off, lose its top, or collapse; where the red piece lands depends on the tower's build and the hit.

The hint places the zone: candidate spots around the tower are rehearsed (``rehearsal``) and one where the red piece
lands after the observed frames (positives) or that it passes close by without touching (negatives) is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physion.engine import AGENT_RED, CameraRig, Material, Part, World
from physion.engine.palette import distinct_distractor_colors
from physion.scenarios.base import Push, Scenario, SceneObjects
from physion.scenarios.props import (
    describe,
    free_spot,
    half_height,
    half_width,
    on_floor,
    patient_zone,
    random_material,
)
from physion.scenarios.rehearsal import Plan, Spot, build_with_patient, ring_zone_plan

ZONE_THICKNESS = 0.008


@dataclass
class _Piece:
    part: Part
    x: float
    y: float
    z: float  # bottom
    yaw: float
    mass: float
    color: tuple[float, float, float]


@dataclass
class _Layout:
    pieces: list[_Piece]
    agent_index: int
    material: Material
    ball_radius: float
    ball_mass: float
    ball_start: tuple[float, float]
    ball_speed: float
    ball_material: Material
    ball_color: tuple[float, float, float]
    zone_half: tuple[float, float, float]
    distractors: list[tuple[Part, float, float, float, Material, tuple[float, float, float]]]


class Support(Scenario):
    name = "Support"
    camera_rig = CameraRig(target=(-0.5, 0.2, 0.4), distance=3.9, elevation=20.0, azimuth=0.0)

    def build(self, world: World, rng: np.random.Generator, want_label: bool | None) -> SceneObjects:
        return build_with_patient(self, world, rng, want_label, lambda: self._plan(rng), attempts=5)

    def _plan(self, rng: np.random.Generator) -> Plan:
        layout = self._draw(rng)
        tower_reach = max(half_width(piece.part) + np.hypot(piece.x, piece.y) for piece in layout.pieces)
        return ring_zone_plan(self, layout, rng, tower_reach + 0.05, 0.75)

    def _draw(self, rng: np.random.Generator) -> _Layout:
        colors = distinct_distractor_colors(rng, 9)
        count = int(rng.integers(3, 6))
        material = Material(friction=float(rng.uniform(0.2, 0.45)), restitution=0.1)
        density = float(rng.uniform(100.0, 300.0))
        pieces, z = [], 0.0
        for k in range(count):
            width = float(rng.uniform(0.07, 0.13))
            height = float(rng.uniform(0.06, 0.13))
            part = (
                Part("box", (width * float(rng.uniform(0.8, 1.2)), width * float(rng.uniform(0.8, 1.2)), height))
                if rng.random() < 0.65
                else Part("cylinder", (width, 2.0 * height))
            )
            jitter = 0.3 * width * rng.uniform(-1.0, 1.0, size=2) if k else np.zeros(2)
            volume = 8.0 * width * width * height
            pieces.append(
                _Piece(
                    part,
                    float(jitter[0]),
                    float(jitter[1]),
                    z,
                    float(rng.uniform(0.0, np.pi)),
                    density * volume,
                    colors[k],
                )
            )
            z += 2.0 * half_height(part)
        agent_index = count - 1 if rng.random() < 0.75 else int(rng.integers(1, count))
        pieces[agent_index].color = AGENT_RED

        ball_radius = float(rng.uniform(0.2, 0.28))
        run_up = float(rng.uniform(1.6, 2.1))
        offset = float(rng.uniform(-0.6, 0.6)) * max(half_width(pieces[0].part), 0.1)
        speed = float(rng.uniform(1.8, 2.8))
        zone_half = (float(rng.uniform(0.15, 0.25)), float(rng.uniform(0.15, 0.25)), 0.5 * ZONE_THICKNESS)

        distractors = []
        taken = [(0.0, 0.0, 0.45), (-run_up, offset, ball_radius + 0.3)]
        for k in range(int(rng.integers(0, 3))):
            part = Part("box", tuple(float(v) for v in rng.uniform(0.06, 0.14, size=3)))
            spot = free_spot(rng, taken, half_width(part), (-1.4, 1.4), (0.6, 1.3))
            if spot is not None:
                distractors.append((part, *spot, float(rng.uniform(0.5, 2.0)), random_material(rng), colors[7 + k]))
        return _Layout(
            pieces=pieces,
            agent_index=agent_index,
            material=material,
            ball_radius=ball_radius,
            ball_mass=float(rng.uniform(4.0, 8.0)),
            ball_start=(-run_up, offset),
            ball_speed=speed,
            ball_material=Material(friction=0.5, restitution=0.2, rolling_friction=0.002, spinning_friction=0.001),
            ball_color=colors[6],
            zone_half=zone_half,
            distractors=distractors,
        )

    def _zone(self, world: World, layout: _Layout, spot: Spot) -> int:
        return patient_zone(world, layout.zone_half, spot)

    def _place(self, world: World, layout: _Layout, spot: Spot) -> SceneObjects:
        bodies = [
            on_floor(
                world,
                piece.part,
                piece.x,
                piece.y,
                z=piece.z,
                mass=piece.mass,
                color=piece.color,
                material=layout.material,
                yaw=piece.yaw,
            )
            for piece in layout.pieces
        ]
        patient = self._zone(world, layout, spot)
        ball = world.sphere(
            layout.ball_radius,
            (*layout.ball_start, layout.ball_radius),
            mass=layout.ball_mass,
            color=layout.ball_color,
            material=layout.ball_material,
        )
        others = {"ball": ball}
        others.update({f"block_{k}": body for k, body in enumerate(bodies) if k != layout.agent_index})
        records = []
        for k, (part, x, y, mass, material, color) in enumerate(layout.distractors):
            others[f"distractor_{k}"] = on_floor(world, part, x, y, mass=mass, color=color, material=material)
            records.append(describe(part, (x, y, 0.0), mass, material))
        # The ball rolls along +x, on a line ``ball_start[1]`` to the side of the tower's axis.
        impulse = (layout.ball_mass * layout.ball_speed, 0.0)
        return SceneObjects(
            agent=bodies[layout.agent_index],
            patient=patient,
            others=others,
            visible=("ball",),
            pushes=[Push(ball, impulse=(float(impulse[0]), float(impulse[1]), 0.0))],
            params={
                "tower": [
                    describe(piece.part, (piece.x, piece.y, piece.z), piece.mass, layout.material, yaw=piece.yaw)
                    for piece in layout.pieces
                ],
                "agent_level": layout.agent_index,
                "ball": describe(
                    Part("sphere", (layout.ball_radius,)),
                    (*layout.ball_start, 0.0),
                    layout.ball_mass,
                    layout.ball_material,
                    speed=layout.ball_speed,
                ),
                "zone_half_extents": list(layout.zone_half),
                "distractors": records,
            },
        )
