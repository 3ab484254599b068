"""Dominoes: a probe domino is pushed into a row of dominoes; does the red domino at the end fall onto the yellow zone?

Layout along +x (left to right in the image): the probe domino, 3-6 middle dominoes, the red agent domino, then
the yellow zone (a flat static slab) on the floor beyond it. Dominoes vary in size; spacing, yaw and a small sideways
wobble vary along the row. A domino topples the next one only if the gap is shorter than its height, and the red one
reaches the zone only if the zone begins within its height.

The hint sets the gaps and the zone distance: positives use gaps of 50-85% of a domino's height and a zone within
60-90% of the red domino's height; negatives either break the row with one gap of 110-135% of the height or put the
zone 110-140% of a height away (near misses).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from physion.engine import AGENT_RED, GRAVITY, PATIENT_YELLOW, CameraRig, Material, World
from physion.engine.palette import DISTRACTOR_COLORS, pick
from physion.scenarios.base import Push, Scenario, SceneObjects


class Dominoes(Scenario):
    name = "Dominoes"
    camera_rig = CameraRig(elevation=28.0, azimuth=35.0, azimuth_jitter=8.0)  # target and distance follow the row

    def build(self, world: World, rng: np.random.Generator, want_label: bool | None) -> SceneObjects:
        count = int(rng.integers(5, 9))  # probe + middles + red agent
        heights = rng.uniform(0.25, 0.35, size=count)  # half heights
        widths = rng.uniform(0.12, 0.2, size=count)  # half widths (y)
        thickness = rng.uniform(0.025, 0.04, size=count)  # half thickness (x)

        # Gaps between consecutive dominoes' faces, as a fraction of the full height of the one that falls.
        ratios = rng.uniform(0.5, 0.9, size=count - 1)
        zone_ratio = float(rng.uniform(0.6, 1.3))
        if want_label is True:
            ratios = rng.uniform(0.5, 0.85, size=count - 1)
            zone_ratio = float(rng.uniform(0.6, 0.9))
        elif want_label is False:
            if rng.random() < 0.5:
                ratios[int(rng.integers(count - 1))] = rng.uniform(1.1, 1.35)
                zone_ratio = float(rng.uniform(0.6, 0.9))
            else:
                zone_ratio = float(rng.uniform(1.1, 1.4))
        elif rng.random() < 0.25:
            ratios[int(rng.integers(count - 1))] = rng.uniform(1.0, 1.3)

        material = Material(friction=float(rng.uniform(0.4, 0.7)), restitution=0.1)
        density = float(rng.uniform(300.0, 800.0))
        colors = [pick(rng, DISTRACTOR_COLORS)] * (count - 1)
        if rng.random() < 0.5:  # sometimes every domino has its own colour
            colors = [pick(rng, DISTRACTOR_COLORS) for _ in range(count - 1)]

        bodies, records = [], []
        x = 0.0
        for k in range(count):
            if k:
                x += thickness[k - 1] + ratios[k - 1] * 2.0 * heights[k - 1] + thickness[k]
            half = (float(thickness[k]), float(widths[k]), float(heights[k]))
            y = float(rng.normal(0.0, 0.015))
            yaw = float(np.radians(rng.normal(0.0, 6.0)))
            mass = density * 8.0 * half[0] * half[1] * half[2]
            color = AGENT_RED if k == count - 1 else colors[k]
            bodies.append(
                world.box(half, (x, y, half[2]), mass=mass, color=color, euler=(0.0, 0.0, yaw), material=material)
            )
            records.append(
                {
                    "half_extents": list(half),
                    "position": [x, y, half[2]],
                    "yaw_deg": float(np.degrees(yaw)),
                    "mass": mass,
                }
            )

        zone_half = (float(rng.uniform(0.15, 0.25)), float(rng.uniform(0.2, 0.35)), 0.008)
        zone_x = x + thickness[-1] + zone_ratio * 2.0 * heights[-1] + zone_half[0]
        patient = world.box(
            zone_half,
            (zone_x, 0.0, zone_half[2]),
            mass=0.0,
            color=PATIENT_YELLOW,
            material=Material(friction=0.6, restitution=0.1),
        )

        # Push the probe near its top with a few times the impulse that just tips it over its front edge: a slow
        # start, like a finger's nudge. Tipping needs the kinetic energy about the edge, L^2 / (2 I), to lift the
        # centre of mass from h to sqrt(h^2 + t^2).
        probe_mass, t, h = records[0]["mass"], float(thickness[0]), float(heights[0])
        lift = GRAVITY * probe_mass * (np.hypot(h, t) - h)
        inertia = probe_mass * 4.0 / 3.0 * (h * h + t * t)
        lever = 1.8 * h  # push height above the floor
        tip_factor = float(rng.uniform(1.2, 2.2))
        impulse = tip_factor * np.sqrt(2.0 * inertia * lift) / lever
        push = Push(bodies[0], impulse=(float(impulse), 0.0, 0.0), offset=(0.0, 0.0, lever - h))
        others = {"probe": bodies[0], **{f"domino_{k}": body for k, body in enumerate(bodies[1:-1])}}
        return SceneObjects(
            agent=bodies[-1],
            patient=patient,
            others=others,
            pushes=[push],
            visible=("probe",),
            camera=replace(
                self.camera_rig,
                target=(0.5 * (zone_x + zone_half[0]), 0.0, 0.2),
                distance=0.8 + 1.0 * (zone_x + zone_half[0]),
            ),
            params={
                "dominoes": records,
                "gap_ratios": ratios,
                "zone_ratio": zone_ratio,
                "zone": {"half_extents": list(zone_half), "position": [zone_x, 0.0, zone_half[2]]},
                "push_tip_factor": tip_factor,
                **material.params(),
                "density": density,
            },
        )
