"""Roll: the red object rolls or slides down a ramp towards the yellow object, sometimes past an obstacle.

A wedge-shaped ramp stands on the left, its slope facing +x. The red agent (a ball, a cylinder lying across the slope,
or a box that slides) starts near the top with a small nudge down the slope. On the floor beyond: sometimes an
obstacle that can deflect or stop it, a distractor or two, and the yellow patient (a box or an upright cylinder).

The hint places the patient: the run is rehearsed (``rehearsal``) and the patient goes where the agent arrives only
after the observed frames (positives), or just beside its path (negatives).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physion.engine import CameraRig, Material, Part, World, wedge_mesh
from physion.engine.palette import distinct_distractor_colors
from physion.scenarios.base import Push, Scenario, SceneObjects
from physion.scenarios.props import (
    agent_from_layout,
    describe,
    free_spot,
    half_width,
    on_floor,
    patient_on_floor,
    random_material,
)
from physion.scenarios.rehearsal import Plan, Spot, build_with_patient, floor_patient_plan


@dataclass
class _Layout:
    ramp: tuple[float, float, float]  # length, width, height
    ramp_color: tuple[float, float, float]
    agent: Part
    agent_euler: tuple[float, float, float]
    agent_start: tuple[float, float, float]
    agent_mass: float
    agent_material: Material
    nudge: float
    patient: Part
    patient_mass: float
    patient_material: Material
    extras: list[tuple[str, Part, float, float, float, Material, tuple[float, float, float]]]
    taken: list[tuple[float, float, float]]  # (x, y, radius) of everything on the floor


class Roll(Scenario):
    name = "Roll"
    camera_rig = CameraRig(target=(0.8, 0.0, 0.2), distance=3.6, elevation=27.0, azimuth=0.0)

    def build(self, world: World, rng: np.random.Generator, want_label: bool | None) -> SceneObjects:
        return build_with_patient(self, world, rng, want_label, lambda: self._plan(rng, want_label))

    def _plan(self, rng: np.random.Generator, want_label: bool | None) -> Plan:
        layout = self._draw(rng, want_label)
        return floor_patient_plan(self, layout, rng, (0.9, 2.0), (-0.5, 0.5))

    def _draw(self, rng: np.random.Generator, want_label: bool | None) -> _Layout:
        colors = distinct_distractor_colors(rng, 4)
        length, width, height = (float(v) for v in rng.uniform([1.0, 0.5, 0.15], [1.5, 0.8, 0.35]))
        slope = np.arctan2(height, length)
        kind = str(rng.choice(["sphere", "sphere", "cylinder", "box"]))  # the same mix for both labels
        size = float(rng.uniform(0.07, 0.12))
        # Start a little below the top edge, resting on the slope (surface height at x is height * (0.5 - x / length)).
        along = float(rng.uniform(0.12, 0.25)) * length
        x = -0.5 * length + along
        surface = height * (0.5 - x / length)
        normal = np.array([np.sin(slope), 0.0, np.cos(slope)])
        if kind == "sphere":
            agent, euler, lift = Part("sphere", (size,)), (0.0, 0.0, 0.0), size
        elif kind == "cylinder":  # lying across the slope, so it rolls down
            agent, euler, lift = Part("cylinder", (size, 2.2 * size)), (np.pi / 2, 0.0, 0.0), size
        else:  # tilted to sit flat on the slope; slides if friction is below tan(slope)
            agent, euler, lift = Part("box", (size, size, size)), (0.0, float(slope), 0.0), size
        centre = np.array([x, float(rng.uniform(-0.15, 0.15)) * width, surface]) + (lift + 0.002) * normal
        friction = float(rng.uniform(0.03, 0.12)) if kind == "box" else float(rng.uniform(0.4, 0.8))
        agent_material = Material(
            friction=friction,
            restitution=float(rng.uniform(0.1, 0.4)),
            rolling_friction=float(rng.uniform(0.0005, 0.002)),
            spinning_friction=0.001,
        )

        patient = (
            Part("box", tuple(float(v) for v in rng.uniform([0.1, 0.1, 0.08], [0.18, 0.18, 0.2])))
            if rng.random() < 0.5
            else Part("cylinder", (float(rng.uniform(0.1, 0.16)), float(rng.uniform(0.16, 0.4))))
        )
        extras = []
        taken = [(0.0, 0.0, 0.5 * np.hypot(length, width))]
        if rng.random() < 0.4:  # an obstacle on the way down (independent of the wanted label, so not a shortcut)
            part = Part("box", tuple(float(v) for v in rng.uniform([0.05, 0.08, 0.05], [0.1, 0.2, 0.12])))
            spot = free_spot(rng, taken, half_width(part), (0.6, 1.3), (-0.25, 0.25))
            if spot is not None:
                extras.append(("obstacle", part, *spot, float(rng.uniform(0.5, 3.0)), random_material(rng), colors[1]))
        for k in range(int(rng.integers(0, 3))):
            part = Part("cylinder", (float(rng.uniform(0.06, 0.12)), float(rng.uniform(0.15, 0.4))))
            spot = free_spot(rng, taken, half_width(part), (0.0, 2.3), (0.6, 1.0) if k % 2 else (-1.0, -0.6))
            if spot is not None:
                extras.append(
                    (f"distractor_{k}", part, *spot, float(rng.uniform(0.5, 2.0)), random_material(rng), colors[2 + k])
                )
        return _Layout(
            ramp=(length, width, height),
            ramp_color=colors[0],
            agent=agent,
            agent_euler=euler,
            agent_start=tuple(float(v) for v in centre),
            agent_mass=float(rng.uniform(0.3, 1.0)),
            agent_material=agent_material,
            nudge=float(rng.uniform(0.0, 0.3)),
            patient=patient,
            patient_mass=float(rng.uniform(0.5, 2.0)),
            patient_material=random_material(rng),
            extras=extras,
            taken=taken,
        )

    def _place(self, world: World, layout: _Layout, spot: Spot) -> SceneObjects:
        length, width, height = layout.ramp
        ramp = world.mesh(
            wedge_mesh(length, width, height),
            (0.0, 0.0, 0.0),
            mass=0.0,
            color=layout.ramp_color,
            material=Material(friction=0.8, restitution=0.1),
        )
        agent = agent_from_layout(world, layout)
        patient = patient_on_floor(world, layout, spot)
        others, records = {"ramp": ramp}, []
        for name, part, x, y, mass, material, color in layout.extras:
            others[name] = on_floor(world, part, x, y, mass=mass, color=color, material=material)
            records.append(describe(part, (x, y, 0.0), mass, material, name=name))
        slope = np.arctan2(height, length)
        down = layout.agent_mass * layout.nudge * np.array([np.cos(slope), 0.0, -np.sin(slope)])
        return SceneObjects(
            agent=agent,
            patient=patient,
            others=others,
            pushes=[Push(agent, impulse=tuple(float(v) for v in down))],
            params={
                "ramp": {"length": length, "width": width, "height": height},
                "agent": describe(
                    layout.agent, layout.agent_start, layout.agent_mass, layout.agent_material, nudge=layout.nudge
                ),
                "patient": describe(
                    layout.patient, (spot.x, spot.y, 0.0), layout.patient_mass, layout.patient_material
                ),
                "extras": records,
            },
        )
