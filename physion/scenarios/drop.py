"""Drop: the red object is dropped onto or beside other objects; does it end up touching the yellow one?

One or two heavy "landing" objects stand near the origin (a wedge, a block, a cylinder lying on its side, a big
ball). The red agent (a ball, a box or a cylinder, at a random tilt) is released 0.5-1.2 m above one of them,
somewhat off its centre, so it bounces, rolls or tumbles off in a direction that depends on where it hits. The yellow
patient (a box or an upright cylinder) stands on the floor nearby, with up to two distractors.

The hint places the patient: the drop is rehearsed (``rehearsal``) and the patient goes where the agent arrives only
after the observed frames (positives), or just beside its path (negatives).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physion.engine import CameraRig, Material, Part, World, wedge_mesh
from physion.engine.palette import distinct_distractor_colors
from physion.scenarios.base import Scenario, SceneObjects
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
class _Lander:
    kind: str  # "wedge", "box", "log", "ball"
    size: tuple[float, float, float]
    x: float
    y: float
    yaw: float
    mass: float
    color: tuple[float, float, float]

    @property
    def top(self) -> float:
        return {
            "wedge": self.size[2],
            "box": 2.0 * self.size[2],
            "log": 2.0 * self.size[0],
            "ball": 2.0 * self.size[0],
        }[self.kind]

    @property
    def reach(self) -> float:
        if self.kind == "wedge":
            return 0.5 * float(np.hypot(self.size[0], self.size[1]))
        if self.kind == "box":
            return float(np.hypot(self.size[0], self.size[1]))
        if self.kind == "log":
            return float(max(self.size[0], 0.5 * self.size[1]))
        return float(self.size[0])


@dataclass
class _Layout:
    landers: list[_Lander]
    lander_material: Material
    agent: Part
    agent_start: tuple[float, float, float]
    agent_euler: tuple[float, float, float]
    agent_velocity: tuple[float, float, float]
    agent_mass: float
    agent_material: Material
    patient: Part
    patient_mass: float
    patient_material: Material
    distractors: list[tuple[Part, float, float, float, Material, tuple[float, float, float]]]
    taken: list[tuple[float, float, float]]


class Drop(Scenario):
    name = "Drop"
    camera_rig = CameraRig(target=(0.0, 0.1, 0.35), distance=3.9, elevation=26.0, azimuth=0.0)

    def build(self, world: World, rng: np.random.Generator, want_label: bool | None) -> SceneObjects:
        return build_with_patient(self, world, rng, want_label, lambda: self._plan(rng, want_label), attempts=5)

    def _plan(self, rng: np.random.Generator, want_label: bool | None) -> Plan:
        layout = self._draw(rng, want_label)
        return floor_patient_plan(self, layout, rng, (-1.2, 1.2), (-0.6, 0.8))

    def _draw(self, rng: np.random.Generator, want_label: bool | None) -> _Layout:
        colors = distinct_distractor_colors(rng, 6)
        landers, taken = [], []
        for k in range(int(rng.integers(1, 3))):
            kind = str(rng.choice(["wedge", "wedge", "wedge", "log", "log", "ball", "box"]))
            if kind == "wedge":
                size = (float(rng.uniform(0.4, 0.7)), float(rng.uniform(0.3, 0.5)), float(rng.uniform(0.15, 0.35)))
            elif kind == "box":
                size = tuple(float(v) for v in rng.uniform([0.1, 0.1, 0.08], [0.2, 0.2, 0.2]))
            elif kind == "log":  # a cylinder lying along y: radius, length
                size = (float(rng.uniform(0.08, 0.15)), float(rng.uniform(0.3, 0.6)), 0.0)
            else:
                size = (float(rng.uniform(0.12, 0.2)), 0.0, 0.0)
            lander = _Lander(
                kind, size, 0.0, 0.0, float(rng.uniform(0.0, 2.0 * np.pi)), float(rng.uniform(3.0, 8.0)), colors[k]
            )
            spot = (0.0, 0.0) if k == 0 else free_spot(rng, taken, lander.reach, (-0.8, 0.8), (-0.4, 0.6))
            if spot is None:
                continue
            lander.x, lander.y = spot
            if k == 0:
                taken.append((0.0, 0.0, lander.reach))
            landers.append(lander)

        target = landers[int(rng.integers(len(landers)))]
        # Shapes that roll on after landing (a positive needs motion after the observed frames); the same mix for
        # both labels, so the shape alone does not give the answer away.
        kind = str(rng.choice(["sphere", "sphere", "cylinder"]))
        size = float(rng.uniform(0.07, 0.11))
        agent = (
            Part("sphere", (size,))
            if kind == "sphere"
            else Part("cylinder", (size, 2.0 * size * float(rng.uniform(0.8, 1.5))))
        )
        offset = rng.uniform(-0.6, 0.6, size=2) * target.reach
        height = target.top + half_width(agent) + float(rng.uniform(0.5, 1.2))
        agent_start = (target.x + float(offset[0]), target.y + float(offset[1]), height)
        euler = tuple(float(a) for a in rng.uniform(0.0, 2.0 * np.pi, size=3))
        # A sideways toss (along +-x, across the image) keeps a rolling agent in view longer than one towards the
        # camera.
        toss = float(rng.uniform(0.1, 0.6))
        heading = float(rng.choice([0.0, np.pi]) + rng.uniform(-1.0, 1.0))
        rolling = (0.0015, 0.003) if want_label else (0.002, 0.006)
        velocity = (toss * float(np.cos(heading)), toss * float(np.sin(heading)), 0.0)

        patient = (
            Part("box", tuple(float(v) for v in rng.uniform([0.1, 0.1, 0.06], [0.2, 0.2, 0.16])))
            if rng.random() < 0.5
            else Part("cylinder", (float(rng.uniform(0.1, 0.18)), float(rng.uniform(0.12, 0.3))))
        )
        distractors = []
        for k in range(int(rng.integers(0, 3))):
            part = Part("box", tuple(float(v) for v in rng.uniform(0.05, 0.12, size=3)))
            spot = free_spot(rng, taken, half_width(part), (-1.3, 1.3), (0.5, 1.0))
            if spot is not None:
                distractors.append((part, *spot, float(rng.uniform(0.5, 2.0)), random_material(rng), colors[2 + k]))
        return _Layout(
            landers=landers,
            lander_material=Material(friction=float(rng.uniform(0.3, 0.7)), restitution=float(rng.uniform(0.2, 0.6))),
            agent=agent,
            agent_start=agent_start,
            agent_euler=euler,
            agent_velocity=velocity,
            agent_mass=float(rng.uniform(0.3, 1.0)),
            agent_material=Material(
                friction=float(rng.uniform(0.3, 0.7)),
                restitution=float(rng.uniform(0.3, 0.8)),
                rolling_friction=float(rng.uniform(*rolling)),
                spinning_friction=0.001,
            ),
            patient=patient,
            patient_mass=float(rng.uniform(0.8, 2.5)),
            patient_material=random_material(rng),
            distractors=distractors,
            taken=taken,
        )

    def _lander(self, world: World, lander: _Lander, material: Material) -> int:
        common = {"mass": lander.mass, "color": lander.color, "material": material}
        if lander.kind == "wedge":  # static: a mesh body's centre of mass would sit on its base plane
            return world.mesh(
                wedge_mesh(*lander.size),
                (lander.x, lander.y, 0.0),
                euler=(0.0, 0.0, lander.yaw),
                **{**common, "mass": 0.0},
            )
        if lander.kind == "box":
            return on_floor(world, Part("box", lander.size), lander.x, lander.y, yaw=lander.yaw, **common)
        if lander.kind == "log":
            radius, length, _ = lander.size
            return world.cylinder(
                radius, length, (lander.x, lander.y, radius), euler=(np.pi / 2, 0.0, lander.yaw), **common
            )
        return world.sphere(lander.size[0], (lander.x, lander.y, lander.size[0]), **common)

    def _place(self, world: World, layout: _Layout, spot: Spot) -> SceneObjects:
        landers = [self._lander(world, lander, layout.lander_material) for lander in layout.landers]
        agent = agent_from_layout(world, layout)
        world.set_velocity(agent, layout.agent_velocity)
        patient = patient_on_floor(world, layout, spot)
        others = {f"lander_{k}": body for k, body in enumerate(landers)}
        records = []
        for k, (part, x, y, mass, material, color) in enumerate(layout.distractors):
            others[f"distractor_{k}"] = on_floor(world, part, x, y, mass=mass, color=color, material=material)
            records.append(describe(part, (x, y, 0.0), mass, material))
        return SceneObjects(
            agent=agent,
            patient=patient,
            others=others,
            params={
                "landers": [
                    {
                        "kind": lander.kind,
                        "size": list(lander.size),
                        "position": [lander.x, lander.y],
                        "yaw": lander.yaw,
                        "mass": lander.mass,
                    }
                    for lander in layout.landers
                ],
                "lander_material": layout.lander_material.params(),
                "agent": describe(
                    layout.agent,
                    layout.agent_start,
                    layout.agent_mass,
                    layout.agent_material,
                    euler=list(layout.agent_euler),
                    velocity=list(layout.agent_velocity),
                ),
                "patient": describe(
                    layout.patient, (spot.x, spot.y, 0.0), layout.patient_mass, layout.patient_material
                ),
                "distractors": records,
            },
        )
