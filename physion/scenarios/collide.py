"""Collide: a probe is pushed at the red agent at a varying speed and angle; does the red object hit the yellow one?

Layout (x runs left to right in the image): probe on the left, red agent at the origin, yellow patient on the right.
The probe travels along a direction ``approach`` degrees off the x axis, on a line passing ``aim_offset`` metres to
the side of the agent's centre: an off-centre hit sends the agent off at an angle, and a sliding agent with too much
friction stops short. Up to two distractors stand clear of the paths.

The hint steers the agent's friction: a rough estimate of the agent's launch speed (a fixed fraction of the probe's
speed at impact) gives the friction at which it would slide ``stop_ratio`` times the gap before stopping; positives
draw ratios above 1 and aim near the centre, negatives draw short slides or glancing hits.
"""

from __future__ import annotations

import numpy as np

from physion.engine import AGENT_RED, GRAVITY, PATIENT_YELLOW, CameraRig, Material, World
from physion.engine.palette import distinct_distractor_colors
from physion.scenarios.base import Push, Scenario, SceneObjects
from physion.scenarios.props import describe, free_spot, half_width, on_floor, random_material, random_solid

LAUNCH_FRACTION = 0.55  # agent launch speed / probe speed at impact, measured over draws of masses and shapes
ROLLING_SPEED = 5.0 / 7.0  # a pushed sphere slides, then rolls at 5/7 of its launch speed


class Collide(Scenario):
    """Collide, with optional fixed draws for controlled trials.

    aim_offset: metres between the probe's line and the agent's centre (0 = head-on; beyond the two half widths the
                probe passes by). None draws it, biased by ``want_label``.
    speed:      the probe's launch speed (m/s). None draws it.
    """

    name = "Collide"
    camera_rig = CameraRig(target=(0.1, 0.0, 0.1), distance=4.7, elevation=35.0, azimuth_jitter=8.0)

    def __init__(self, aim_offset: float | None = None, speed: float | None = None):
        self.aim_offset = aim_offset
        self.speed = speed

    def build(self, world: World, rng: np.random.Generator, want_label: bool | None) -> SceneObjects:
        colors = distinct_distractor_colors(rng, 3)
        agent_part = random_solid(rng, (0.13, 0.2))
        patient_part = random_solid(rng, (0.18, 0.28), shapes=("box", "cylinder"))
        probe_part = random_solid(rng, (0.13, 0.2), shapes=("sphere", "sphere", "box"))
        agent_mass, patient_mass, probe_mass = (float(m) for m in rng.uniform([0.5, 1.5, 0.8], [1.2, 3.0, 2.0]))
        reach = half_width(agent_part) + half_width(probe_part)

        # Where the probe goes.
        approach = np.radians(float(rng.uniform(-6.0, 6.0)))
        if self.aim_offset is not None:
            aim_offset = float(self.aim_offset)
        elif want_label is None:
            aim_offset = float(rng.uniform(-0.8, 0.8) * reach)
        elif want_label:
            aim_offset = float(rng.uniform(-0.2, 0.2) * reach)
        else:  # half the negatives are glancing hits that send the agent past the patient
            glancing = rng.random() < 0.5 or agent_part.shape == "sphere"
            aim_offset = float(
                rng.choice([-1.0, 1.0]) * (rng.uniform(0.45, 0.8) if glancing else rng.uniform(0, 0.2)) * reach
            )
        speed = float(self.speed) if self.speed is not None else float(rng.uniform(1.4, 2.3))
        run_up = float(rng.uniform(0.9, 1.4))
        probe_material = (
            Material(
                friction=float(rng.uniform(0.3, 0.5)),
                restitution=float(rng.uniform(0.2, 0.5)),
                rolling_friction=0.002,
                spinning_friction=0.001,
            )
            if probe_part.shape == "sphere"
            else Material(friction=float(rng.uniform(0.03, 0.08)), restitution=float(rng.uniform(0.2, 0.5)))
        )
        if probe_part.shape == "sphere":
            impact_speed = ROLLING_SPEED * speed
        else:
            impact_speed = np.sqrt(max(speed**2 - 2.0 * probe_material.friction * GRAVITY * run_up, 0.0))

        # How far the agent slides: a drawn multiple of the gap, turned into its friction.
        gap = float(rng.uniform(0.8, 1.3))
        if want_label is None:
            stop_ratio = float(rng.uniform(0.5, 2.2))
        elif want_label or abs(aim_offset) > 0.4 * reach:
            stop_ratio = float(rng.uniform(1.3, 2.2))
        else:
            stop_ratio = float(rng.uniform(0.45, 0.8))
        launch = LAUNCH_FRACTION * impact_speed
        friction = float(np.clip(launch**2 / (2.0 * GRAVITY * stop_ratio * gap), 0.03, 0.6))
        agent_material = Material(
            friction=friction, restitution=float(rng.uniform(0.2, 0.5)), rolling_friction=0.002, spinning_friction=0.001
        )
        agent = on_floor(
            world,
            agent_part,
            0.0,
            0.0,
            mass=agent_mass,
            color=AGENT_RED,
            material=agent_material,
            yaw=float(rng.uniform(0, np.pi)),
        )

        patient_x = half_width(agent_part) + gap + half_width(patient_part)
        patient_material = random_material(rng)
        patient = on_floor(
            world,
            patient_part,
            patient_x,
            0.0,
            mass=patient_mass,
            color=PATIENT_YELLOW,
            material=patient_material,
            yaw=float(rng.uniform(0, np.pi)),
        )

        direction = np.array([np.cos(approach), np.sin(approach)])
        side = np.array([-direction[1], direction[0]])
        start = -(run_up + reach) * direction + aim_offset * side
        probe = on_floor(
            world,
            probe_part,
            float(start[0]),
            float(start[1]),
            mass=probe_mass,
            color=colors[0],
            material=probe_material,
            yaw=float(approach),
        )

        others = {"probe": probe}
        distractors = []
        # Keep distractors off the band the probe and agent travel through (|y| < 0.7 m).
        taken = [
            (float(start[0]), float(start[1]), half_width(probe_part)),
            (0.0, 0.0, half_width(agent_part)),
            (patient_x, 0.0, half_width(patient_part)),
        ]
        for k in range(int(rng.integers(0, 3))):
            part = random_solid(rng, (0.12, 0.2))
            side_sign = float(rng.choice([-1.0, 1.0]))
            spot = free_spot(
                rng, taken, half_width(part), (-1.2, patient_x + 0.5), tuple(sorted((side_sign * 0.7, side_sign * 1.2)))
            )
            if spot is None:
                continue
            mass = float(rng.uniform(0.5, 2.0))
            material = random_material(rng)
            others[f"distractor_{len(distractors)}"] = on_floor(
                world, part, *spot, mass=mass, color=colors[1 + len(distractors)], material=material
            )
            distractors.append(describe(part, (*spot, 0.0), mass, material))

        return SceneObjects(
            agent=agent,
            patient=patient,
            others=others,
            pushes=[Push(probe, impulse=tuple(probe_mass * speed * np.append(direction, 0.0)))],
            params={
                "agent": describe(agent_part, (0.0, 0.0, 0.0), agent_mass, agent_material, stop_ratio=stop_ratio),
                "patient": describe(patient_part, (patient_x, 0.0, 0.0), patient_mass, patient_material, gap=gap),
                "probe": describe(
                    probe_part,
                    (float(start[0]), float(start[1]), 0.0),
                    probe_mass,
                    probe_material,
                    speed=speed,
                    approach_deg=float(np.degrees(approach)),
                    aim_offset=aim_offset,
                    run_up=run_up,
                ),
                "distractors": distractors,
            },
            visible=("probe",),
        )
