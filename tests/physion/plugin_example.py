"""A tiny plugin scenario for the tests: a red ball is pushed along the floor towards a yellow box.

Loaded as ``load_scenario("tests.physion.plugin_example:Bump")`` or by file path. ``gap`` (metres between the ball
and the box) and ``speed`` (m/s; None draws it from the hint) are constructor options so tests can force outcomes.
"""

from __future__ import annotations

from physion.engine import AGENT_RED, PATIENT_YELLOW, CameraRig, Material
from physion.scenarios.base import Push, Scenario, SceneObjects


class Bump(Scenario):
    name = "Bump"
    camera_rig = CameraRig(target=(0.6, 0.0, 0.1), distance=2.2, elevation=25.0)

    def __init__(self, gap: float = 1.2, speed: float | None = None):
        self.gap = gap
        self.speed = speed

    def build(self, world, rng, want_label):
        agent = world.sphere(0.1, (0.0, 0.0, 0.1), mass=1.0, color=AGENT_RED, material=Material(friction=0.5))
        patient = world.box((0.1, 0.1, 0.1), (0.2 + self.gap, 0.0, 0.1), mass=1.0, color=PATIENT_YELLOW)
        if self.speed is not None:
            speed = self.speed
        else:  # rolling at 5/7 of the push speed, 0.6 m/s covers 1.2 m in 2.8 s; 0.3 m/s stops short within 5 s
            speed = rng.uniform(0.6, 1.0) if want_label else rng.uniform(0.05, 0.3)
        return SceneObjects(
            agent,
            patient,
            pushes=[Push(agent, impulse=(speed * world.mass(agent), 0.0, 0.0))],
            params={"speed": float(speed), "gap": self.gap},
        )


class Overlapping(Bump):
    """Starts with the ball sunk 5 cm into the box: must be rejected."""

    def build(self, world, rng, want_label):
        scene = super().build(world, rng, want_label)
        blocker = world.box((0.1, 0.1, 0.1), (0.15, 0.0, 0.1), mass=1.0, color=(0.2, 0.4, 0.9))
        scene.others["blocker"] = blocker
        return scene


class Hidden(Bump):
    """Puts the patient behind the camera: must be rejected as not visible."""

    def build(self, world, rng, want_label):
        agent = world.sphere(0.1, (0.0, 0.0, 0.1), mass=1.0, color=AGENT_RED)
        patient = world.box((0.1, 0.1, 0.1), (0.0, -6.0, 0.1), mass=1.0, color=PATIENT_YELLOW)
        return SceneObjects(agent, patient)
