"""Contain: the red object and a few distractors are dropped near a yellow container; does the red one touch it?

The yellow patient is an open box (a base and four walls) standing on the floor. The red agent and 1-3 distractors
(balls, cylinders, boxes) are released 0.3-1.0 m above the floor at once, with small tosses, so they bounce off the
floor and each other and roll; most scenes also have a ramp (a wedge) they land on and roll down. The red one may
roll into the container's wall, hop over its rim, or pass it by.

The hint places the container: the drop is rehearsed (``rehearsal``) and the container goes where the agent arrives
only after the observed frames (positives), or just beside its path (negatives).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from physion.engine import AGENT_RED, PATIENT_YELLOW, CameraRig, Material, Part, World, open_box_parts, wedge_mesh
from physion.engine.palette import distinct_distractor_colors
from physion.errors import RejectedTrial
from physion.scenarios.base import Scenario, SceneObjects
from physion.scenarios.props import describe, free_spot, random_material
from physion.scenarios.rehearsal import Plan, Spot, build_with_patient, floor_spots


@dataclass
class _Falling:
    part: Part
    start: tuple[float, float, float]
    euler: tuple[float, float, float]
    velocity: tuple[float, float, float]
    mass: float
    material: Material
    color: tuple[float, float, float]


@dataclass
class _Layout:
    agent: _Falling
    distractors: list[_Falling]
    # x, y, length, width, height, yaw, colour of a wedge (or no ramp)
    ramp: tuple[float, float, float, float, float, float, tuple[float, float, float]] | None
    container_inner: tuple[float, float, float]
    container_wall: float
    container_mass: float
    container_material: Material


def _falling_part(rng: np.random.Generator, size: float) -> Part:
    kind = str(rng.choice(["sphere", "sphere", "sphere", "cylinder", "cylinder", "box"]))
    if kind == "sphere":
        return Part("sphere", (size,))
    if kind == "cylinder":
        return Part("cylinder", (size, 2.0 * size * float(rng.uniform(0.8, 1.4))))
    return Part("box", tuple(size * float(v) for v in rng.uniform(0.75, 1.15, size=3)))


class Contain(Scenario):
    name = "Contain"
    camera_rig = CameraRig(elevation=30.0, azimuth=0.0)  # target and distance follow the container

    def build(self, world: World, rng: np.random.Generator, want_label: bool | None) -> SceneObjects:
        return build_with_patient(self, world, rng, want_label, lambda: self._plan(rng), attempts=5)

    def _plan(self, rng: np.random.Generator) -> Plan:
        layout = self._draw(rng)
        hx, hy, _ = layout.container_inner
        reach = float(np.hypot(hx, hy)) + layout.container_wall
        taken = [(layout.agent.start[0], layout.agent.start[1], 0.15)]
        taken += [(d.start[0], d.start[1], 0.15) for d in layout.distractors]
        if layout.ramp is not None:
            x, y, length, width = layout.ramp[:4]
            taken.append((x, y, 0.5 * float(np.hypot(length, width))))
        spot = free_spot(rng, taken, reach, (-1.2, 1.2), (-0.5, 0.9), tries=200)
        if spot is None:
            raise RejectedTrial("no free floor spot for the container")
        return Plan(
            build_at=lambda w, at: self._place(w, layout, at),
            make_patient=lambda w, at: self._container(w, layout, at),
            propose=lambda r, track, want: floor_spots(
                r, track, want, reach, None, low=2.0 * layout.container_inner[2] + 0.1, within=1.6
            ),
            default=Spot(*spot, float(rng.uniform(0, np.pi))),
        )

    def _draw(self, rng: np.random.Generator) -> _Layout:
        colors = distinct_distractor_colors(rng, 5)
        ramp = None
        if rng.random() < 0.75:  # a ramp near the middle; things dropped on it roll off down its slope
            ramp = (
                float(rng.uniform(-0.3, 0.3)),
                float(rng.uniform(-0.1, 0.3)),
                float(rng.uniform(0.6, 0.9)),
                float(rng.uniform(0.4, 0.6)),
                float(rng.uniform(0.12, 0.25)),
                float(rng.uniform(0, 2 * np.pi)),
                colors[4],
            )

        def falling(color, size_range) -> _Falling:
            part = _falling_part(rng, float(rng.uniform(*size_range)))
            if ramp is not None and rng.random() < 0.7:  # above the ramp
                rx, ry, length, width, height = ramp[:5]
                x = rx + float(rng.uniform(-0.3, 0.3)) * length
                y = ry + float(rng.uniform(-0.3, 0.3)) * width
                z = height
            else:
                x, y, z = float(rng.uniform(-0.6, 0.6)), float(rng.uniform(-0.3, 0.5)), 0.0
            start = (x, y, z + float(rng.uniform(0.2, 0.6)))
            toss = rng.uniform(-0.6, 0.6, size=2)
            return _Falling(
                part=part,
                start=start,
                euler=tuple(float(a) for a in rng.uniform(0, 2 * np.pi, size=3)),
                velocity=(float(toss[0]), float(toss[1]), 0.0),
                mass=float(rng.uniform(0.3, 1.0)),
                material=Material(
                    friction=float(rng.uniform(0.3, 0.6)),
                    restitution=float(rng.uniform(0.3, 0.7)),
                    rolling_friction=float(rng.uniform(0.002, 0.004)),
                    spinning_friction=0.001,
                ),
                color=color,
            )

        agent = falling(AGENT_RED, (0.08, 0.12))
        distractors = []
        for k in range(int(rng.integers(1, 4))):
            candidate = falling(colors[k], (0.06, 0.12))
            # Keep release points apart so nothing starts inside anything else.
            others = [agent, *distractors]
            if all(np.linalg.norm(np.subtract(candidate.start, o.start)) > 0.3 for o in others):
                distractors.append(candidate)
        return _Layout(
            agent=agent,
            distractors=distractors,
            ramp=ramp,
            container_inner=(
                float(rng.uniform(0.14, 0.24)),
                float(rng.uniform(0.14, 0.24)),
                float(rng.uniform(0.05, 0.12)),
            ),
            container_wall=float(rng.uniform(0.015, 0.03)),
            container_mass=float(rng.uniform(1.0, 3.0)),
            container_material=random_material(rng),
        )

    def _container(self, world: World, layout: _Layout, spot: Spot) -> int:
        return world.compound(
            open_box_parts(layout.container_inner, layout.container_wall),
            (spot.x, spot.y, 0.0),
            mass=layout.container_mass,
            color=PATIENT_YELLOW,
            euler=(0.0, 0.0, spot.yaw),
            material=layout.container_material,
        )

    @staticmethod
    def _drop(world: World, item: _Falling) -> int:
        body = world.primitive(
            item.part, item.start, mass=item.mass, color=item.color, euler=item.euler, material=item.material
        )
        world.set_velocity(body, item.velocity)
        return body

    def _place(self, world: World, layout: _Layout, spot: Spot) -> SceneObjects:
        others = {}
        if layout.ramp is not None:
            x, y, length, width, height, yaw, color = layout.ramp
            others["ramp"] = world.mesh(
                wedge_mesh(length, width, height),
                (x, y, 0.0),
                mass=0.0,
                color=color,
                euler=(0.0, 0.0, yaw),
                material=Material(friction=0.5, restitution=0.3),
            )
        agent = self._drop(world, layout.agent)
        patient = self._container(world, layout, spot)
        for k, item in enumerate(layout.distractors):
            others[f"distractor_{k}"] = self._drop(world, item)

        def record(item: _Falling) -> dict:
            return describe(
                item.part, item.start, item.mass, item.material, euler=list(item.euler), velocity=list(item.velocity)
            )

        # Frame the drop area (around the origin) and the container together.
        centre = (0.5 * spot.x, 0.5 * spot.y + 0.1, 0.25)
        camera = replace(self.camera_rig, target=centre, distance=3.0 + 0.8 * float(np.hypot(spot.x, spot.y)))
        return SceneObjects(
            agent=agent,
            patient=patient,
            others=others,
            camera=camera,
            params={
                "agent": record(layout.agent),
                "distractors": [record(item) for item in layout.distractors],
                "ramp": None
                if layout.ramp is None
                else dict(zip(("x", "y", "length", "width", "height", "yaw"), layout.ramp[:6])),
                "container": {
                    "inner_half_extents": list(layout.container_inner),
                    "wall": layout.container_wall,
                    "mass": layout.container_mass,
                    **layout.container_material.params(),
                },
            },
        )
