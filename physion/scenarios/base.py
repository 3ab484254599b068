"""The Scenario base class: everything a Physion-style trial needs except the scene itself.

Writing a scenario (built-in or plugin) means subclassing ``Scenario`` and writing one method::

    from physion.engine import AGENT_RED, PATIENT_YELLOW, CameraRig
    from physion.scenarios.base import Push, Scenario, SceneObjects

    class Bump(Scenario):
        name = "Bump"                                     # optional; defaults to the class name
        camera_rig = CameraRig(target=(0.5, 0.0, 0.1))    # optional; the nominal camera, jittered per trial

        def build(self, world, rng, want_label):
            agent = world.sphere(0.1, (0.0, 0.0, 0.1), mass=1.0, color=AGENT_RED)
            patient = world.box((0.1, 0.1, 0.1), (1.2, 0.0, 0.1), mass=1.0, color=PATIENT_YELLOW)
            speed = rng.uniform(0.6, 1.0) if want_label else rng.uniform(0.1, 0.5)
            return SceneObjects(agent, patient, pushes=[Push(agent, impulse=(speed * world.mass(agent), 0.0, 0.0))],
                                params={"speed": speed})

``build(world, rng, want_label) -> SceneObjects`` creates the bodies in ``world`` (a ``physion.engine.World``, in
metres and kilograms, z up; the room already exists: a floor with its top face at z = 0 and walls 8 m out), draws
every random quantity from ``rng`` only, and names the red agent, the yellow patient and every other body it made.
``want_label`` (True/False/None) only biases the draws towards an outcome: the label always comes from the simulated
contacts. Optionally override ``apply_forces(world, scene, step)``, called before every physics step (the default
applies ``scene.pushes``). Scenes too chaotic to aim by formula can place the patient from a physics-only rehearsal
(``physion.scenarios.rehearsal.build_with_patient``), as Support, Drop, Contain, Link and Roll do.

The base class then does the rest, identically for every scenario: a fresh world per trial (private pybullet client,
gravity, room), the jittered camera and light, stepping at ``physics_hz`` and rendering at ``fps``, agent-patient
contacts on every physics step (OR-ed into the rendered frame that follows), segmentation and object states (objects
in the order agent, patient, the others, floor, walls), and the validity checks that raise ``RejectedTrial`` (start
overlap, agent, patient or ``scene.visible`` bodies hidden in frame 0, a positive trial whose first contact falls
inside the observed frames).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from physion.engine import FLOOR_COLORS, WALL_COLORS, Camera, CameraRig, Material, World, render
from physion.engine.palette import pick
from physion.engine.shapes import Vec3
from physion.errors import RejectedTrial
from physion.trial import FPS, OBSERVED_FRAMES, Trial, stored_count

ROOM_HALF_EXTENT = 8.0  # metres from the origin to each wall: beyond every scene and camera
ROOM_HEIGHT = 4.0


@dataclass
class Push:
    """A momentum kick: ``impulse`` (N s, world frame) given to ``body`` at simulated time ``time`` (s), applied
    ``offset`` metres from its centre of mass. Divide by the body's mass for the change of velocity."""

    body: int
    impulse: Vec3
    time: float = 0.0
    offset: Vec3 = (0.0, 0.0, 0.0)


@dataclass
class SceneObjects:
    """What ``build`` returns: the agent (red) and patient (yellow) body ids, other bodies by name (e.g.
    ``{"probe": id, "distractor_0": id, "ramp": id}``), pushes to apply, the drawn parameters (json-serialisable
    after numpy scalars and tuples are converted), and names of other bodies that must be visible in the first frame
    like the agent and patient (e.g. the probe whose motion the question depends on). ``camera`` replaces the
    scenario's ``camera_rig`` for this trial, for scenes whose extent varies (e.g. a longer row of dominoes)."""

    agent: int
    patient: int
    others: dict[str, int] = field(default_factory=dict)
    pushes: list[Push] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    visible: tuple[str, ...] = ()
    camera: CameraRig | None = None


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars/arrays and tuples turned into plain Python numbers and lists."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [jsonable(item) for item in value]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


class Scenario(ABC):
    """A family of Physion-style trials; see the module docstring for the subclass contract."""

    name: ClassVar[str] = ""
    camera_rig: ClassVar[CameraRig] = CameraRig()
    deformable: ClassVar[bool] = False  # True builds a RESET_USE_DEFORMABLE_WORLD world (cloth)
    physics_hz: ClassVar[int] = 240
    solver_iterations: ClassVar[int] = 50
    floor_material: ClassVar[Material] = Material(friction=1.0, restitution=0.5)
    max_start_overlap: ClassVar[float] = 0.005  # metres of interpenetration tolerated at the start
    min_visible_fraction: ClassVar[float] = 0.0005  # of the image, for agent and patient in frame 0 ...
    min_visible_pixels: ClassVar[int] = 3  # ... and never fewer pixels than this

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("name"):
            cls.name = cls.__name__

    @abstractmethod
    def build(self, world: World, rng: np.random.Generator, want_label: bool | None) -> SceneObjects:
        """Create this trial's bodies in ``world`` from ``rng``; see the module docstring."""

    def apply_forces(self, world: World, scene: SceneObjects, step: int) -> None:
        """Called before physics step ``step`` (0-based); the default gives each push in the step nearest its time."""
        for push in scene.pushes:
            if step == int(round(push.time / world.time_step)):
                world.apply_impulse(push.body, push.impulse, push.offset)

    def advance(self, world: World, scene: SceneObjects) -> Iterator[tuple[int, bool]]:
        """Yield (frame index, agent-patient contact since the previous frame) for every frame of the trial.

        Frame 0 is the initial state (contact as found by the last collision detection); each later frame follows
        ``world.substeps`` physics steps, the forces of ``apply_forces`` and a contact check after every step.
        """
        world.sync_soft_visuals()
        yield 0, world.touching(scene.agent, scene.patient)
        for t in range(1, world.num_frames):
            touched = False
            for _ in range(world.substeps):
                self.apply_forces(world, scene, world.steps)
                world.step()
                touched |= world.touching(scene.agent, scene.patient)
            yield t, touched

    # ------------------------------------------------------------------------------------------- simulation
    def simulate(
        self,
        seed: int,
        resolution: int = 128,
        num_frames: int = 150,
        fps: int = FPS,
        want_label: bool | None = None,
        frame_stride: int = 1,
    ) -> Trial:
        """Simulate and render one trial; deterministic in (seed, resolution, num_frames, fps, want_label).

        ``frame_stride`` s renders and keeps only video frames 0, s, 2s, ...; physics, contacts, the label and
        the first contact still cover every frame, so the trial is the unstrided one with every s-th frame kept.
        Raises ``RejectedTrial`` for an invalid draw; the caller moves on to another seed.
        """
        if int(seed) < 0 or resolution < 8 or num_frames < 1 or fps < 1 or frame_stride < 1:
            raise ValueError(
                f"need seed >= 0, resolution >= 8, num_frames >= 1, fps >= 1, frame_stride >= 1; got "
                f"{seed}, {resolution}, {num_frames}, {fps}, {frame_stride}"
            )
        # Separate streams: the scene's draws do not shift when the camera's change, and vice versa.
        scene_seq, view_seq = np.random.SeedSequence(int(seed)).spawn(2)
        scene_rng, view_rng = np.random.default_rng(scene_seq), np.random.default_rng(view_seq)
        substeps = max(1, int(round(self.physics_hz / fps)))
        with World(
            1.0 / (fps * substeps),
            deformable=self.deformable,
            solver_iterations=self.solver_iterations,
            fps=fps,
            num_frames=num_frames,
        ) as world:
            floor_color, wall_color = pick(view_rng, FLOOR_COLORS), pick(view_rng, WALL_COLORS)
            floor, walls = world.room(ROOM_HALF_EXTENT, ROOM_HEIGHT, floor_color, wall_color, self.floor_material)
            scene = self.build(world, scene_rng, want_label)
            camera = Camera.sample(scene.camera or self.camera_rig, view_rng)
            names, bodies = self._objects(world, scene, floor, walls)
            depth, a, b = world.deepest_overlap(bodies)
            if depth > self.max_start_overlap:
                raise RejectedTrial(
                    f"{names[bodies.index(a)]} and {names[bodies.index(b)]} overlap by "
                    f"{depth * 1000:.1f} mm at the start"
                )
            record = self._run(world, scene, camera, bodies, names, resolution, frame_stride)
        frames, segmentation, contacts, positions, velocities = record
        label = bool(contacts.any())
        params = {
            "scene": scene.params,
            "pushes": [
                {
                    "body": names[bodies.index(push.body)],
                    "impulse": push.impulse,
                    "time": push.time,
                    "offset": push.offset,
                }
                for push in scene.pushes
            ],
            "camera": camera.params(),
            "floor_color": floor_color,
            "wall_color": wall_color,
            "physics": {
                "hz": fps * substeps,
                "substeps_per_frame": substeps,
                "solver_iterations": self.solver_iterations,
                "deformable": self.deformable,
            },
            "want_label": want_label,
        }
        params = jsonable(params)
        json.dumps(params)  # fail here, naming the scenario, rather than in a writer later
        return Trial(
            name=f"{self.name}_{int(seed):08d}",
            scenario=self.name,
            frames=frames,
            fps=fps,
            label=label,
            contacts=contacts,
            first_contact_frame=int(np.argmax(contacts)) if label else None,
            segmentation=segmentation,
            object_ids=bodies,
            object_names=names,
            agent_index=0,
            patient_index=1,
            positions=positions,
            velocities=velocities,
            seed=int(seed),
            params=params,
            frame_stride=frame_stride,
            video_frames=None if frame_stride == 1 else num_frames,
        )

    def _objects(self, world: World, scene: SceneObjects, floor: int, walls: int) -> tuple[list[str], list[int]]:
        """Names and body ids in segmentation order: agent, patient, the others, floor, walls."""
        names = ["agent", "patient", *scene.others, "floor", "walls"]
        bodies = [scene.agent, scene.patient, *scene.others.values(), floor, walls]
        if len(set(names)) != len(names) or len(set(bodies)) != len(bodies):
            raise ValueError(
                f"scenario {self.name!r}: object names and bodies must be unique, got {dict(zip(names, bodies))}"
            )
        unnamed = sorted(set(world.body_ids()) - set(bodies))
        if unnamed:  # they would render but vanish from segmentation and states
            raise ValueError(f"scenario {self.name!r}: bodies {unnamed} are not named in SceneObjects.others")
        unknown = sorted(set(scene.visible) - set(scene.others))
        if unknown:
            raise ValueError(f"scenario {self.name!r}: SceneObjects.visible names {unknown}, which are not in others")
        return names, bodies

    def _run(
        self,
        world: World,
        scene: SceneObjects,
        camera: Camera,
        bodies: list[int],
        names: list[str],
        resolution: int,
        frame_stride: int = 1,
    ):
        """Step and track contacts every frame, render and record every ``frame_stride``-th; frame 0 is the
        initial state."""
        count, num_frames = len(bodies), world.num_frames
        stored = stored_count(num_frames, frame_stride)
        frames = np.empty((stored, resolution, resolution, 3), dtype=np.uint8)
        segmentation = np.empty((stored, resolution, resolution), dtype=np.int32)
        contacts = np.zeros(num_frames, dtype=bool)
        positions = np.empty((stored, count, 3), dtype=np.float32)
        velocities = np.empty((stored, count, 3), dtype=np.float32)
        # Body id -> segmentation index (1-based position in ``bodies``); the renderer writes -1 for no body.
        lookup = np.zeros(max(bodies) + 2, dtype=np.int32)
        lookup[np.asarray(bodies) + 1] = np.arange(1, count + 1, dtype=np.int32)
        min_pixels = max(self.min_visible_pixels, int(round(self.min_visible_fraction * resolution * resolution)))
        for t, touched in self.advance(world, scene):
            contacts[t] = touched
            if touched and t < OBSERVED_FRAMES:
                raise RejectedTrial(
                    f"first agent-patient contact at frame {t}, inside the {OBSERVED_FRAMES} observed frames"
                )
            # States every frame: a soft body's velocity is measured since the previous state call.
            states = [world.state(body) for body in bodies]
            if t % frame_stride:
                continue
            j = t // frame_stride
            rgb, ids = render(world, camera, resolution)
            frames[j] = rgb
            segmentation[j] = lookup[ids + 1]
            if t == 0:
                for role in ("agent", "patient", *scene.visible):
                    visible = int(np.count_nonzero(segmentation[0] == names.index(role) + 1))
                    if visible < min_pixels:
                        raise RejectedTrial(f"{role} shows {visible} pixels in the first frame (< {min_pixels})")
            for k, (position, velocity) in enumerate(states):
                positions[j, k], velocities[j, k] = position, velocity
        return frames, segmentation, contacts, positions, velocities
