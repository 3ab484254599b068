"""A user scenario plugin: a pendulum whose red bob swings toward a yellow pillar.

Generate it like a built-in::

    vdt-physion generate --out data/pendulum --scenario examples/my_scenario.py:Pendulum --training 100

The bob hangs from a pivot on a grey frame (a pybullet point-to-point constraint). At the start it moves *away*
from the pillar, swings back through the bottom after about half a period and reaches the pillar's side on the
far swing, after the 45 observed frames. The observed first swing shows the amplitude, so whether the bob reaches
the pillar (label 1) or just falls short of it (label 0) is predictable from the observed frames.
"""

from __future__ import annotations

import numpy as np
import pybullet as p

from physion.engine import AGENT_RED, GRAVITY, PATIENT_YELLOW, CameraRig, Part, World
from physion.scenarios.base import Scenario, SceneObjects

FRAME_GREY = (0.42, 0.47, 0.54)


class Pendulum(Scenario):
    """A red bob on a rod of length 1.4-1.7 m, started at the bottom with a speed that gives an amplitude of
    0.35-0.6 rad, and a yellow pillar whose near face stands just inside (hit) or just beyond (miss) the reach."""

    camera_rig = CameraRig(target=(0.3, 0.0, 0.95), distance=3.3, elevation=12.0, azimuth_jitter=6.0)

    def build(self, world: World, rng: np.random.Generator, want_label: bool | None) -> SceneObjects:
        length = rng.uniform(1.4, 1.7)
        radius = rng.uniform(0.11, 0.15)
        pivot_height = length + radius + rng.uniform(0.06, 0.12)
        amplitude = rng.uniform(0.35, 0.6)
        reach = length * np.sin(amplitude) + radius  # furthest x the bob's surface gets to on the far swing
        hits = bool(rng.random() < 0.5) if want_label is None else want_label
        # Hits overlap the reach by a fraction of the bob, misses fall short by a few centimetres: near misses.
        gap = -rng.uniform(0.15, 0.8) * radius if hits else rng.uniform(0.03, 0.2)

        # The bob: a red sphere and a thin grey rod up to the pivot, one rigid body whose origin is the sphere centre.
        rod = Part("cylinder", (0.012, length - radius), offset=(0.0, 0.0, 0.5 * (length + radius)))
        bob = world.compound(
            [Part("sphere", (radius,)), rod],
            (0.0, 0.0, pivot_height - length),
            mass=rng.uniform(0.5, 2.0),
            color=AGENT_RED,
        )
        p.changeVisualShape(bob, -1, shapeIndex=1, rgbaColor=[*FRAME_GREY, 1.0], physicsClientId=world.client)
        p.createConstraint(
            bob,
            -1,
            -1,
            -1,
            p.JOINT_POINT2POINT,
            (0.0, 0.0, 0.0),
            (0.0, 0.0, length),
            (0.0, 0.0, pivot_height),
            physicsClientId=world.client,
        )
        # Released at the bottom moving away from the pillar (-x), with the speed that swings it to the amplitude;
        # the spin matches the swing so the rigid bob starts in the constraint's motion.
        speed = np.sqrt(2.0 * GRAVITY * length * (1.0 - np.cos(amplitude)))
        world.set_velocity(bob, (-speed, 0.0, 0.0), (0.0, speed / length, 0.0))

        # The frame: a beam just above the pivot on a post behind the swing plane, so it never hides the bob.
        beam = world.box((0.05, 0.25, 0.04), (0.0, 0.2, pivot_height + 0.05), mass=0.0, color=FRAME_GREY)
        post = world.box((0.04, 0.04, 0.5 * pivot_height), (0.0, 0.41, 0.5 * pivot_height), mass=0.0, color=FRAME_GREY)

        half = (rng.uniform(0.08, 0.14), rng.uniform(0.15, 0.25), 0.0)
        top = pivot_height - length * np.cos(amplitude) + radius + rng.uniform(0.1, 0.4)  # taller than the bob reaches
        pillar = world.box(
            (half[0], half[1], 0.5 * top),
            (reach + gap + half[0], 0.0, 0.5 * top),
            mass=rng.uniform(2.0, 5.0),
            color=PATIENT_YELLOW,
        )
        return SceneObjects(
            bob,
            pillar,
            others={"beam": beam, "post": post},
            params={
                "length": length,
                "radius": radius,
                "pivot_height": pivot_height,
                "amplitude": amplitude,
                "speed": speed,
                "gap": gap,
                "pillar_half_extents": [half[0], half[1], 0.5 * top],
            },
        )
