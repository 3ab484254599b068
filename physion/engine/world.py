"""One pybullet world: a private DIRECT-mode physics client, body builders, stepping, contacts and object states.

Every ``World`` has its own client id, so several can live in one process and nothing (bodies, settings, gravity)
leaks from one trial to the next. Use it as a context manager so the client is always released.

Released clients are kept for the next ``World`` of the process (reset, then set up as a new one): connecting a
client costs about 10 ms in a generating process (15% of run-shaped generation), and a reset one simulates and
renders byte for byte as a fresh one does (tests/physion/test_scenarios.py; docs/design.md §3).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence

import numpy as np
import pybullet as p

from physion.engine.shapes import Material, Mesh, Part, Vec3, cloth_obj

GRAVITY = 9.81
# Resting contacts report distances of about +-1e-4 m; Bullet also keeps manifold points up to ~2 cm apart,
# which are near misses, not touches.
CONTACT_TOLERANCE = 1e-3
# Idle clients by world kind (deformable or not), for reuse; at most _MAX_IDLE of each kind stay connected.
_IDLE_CLIENTS: dict[bool, list[int]] = {False: [], True: []}
_MAX_IDLE = 4
_SHAPES = {"box": p.GEOM_BOX, "sphere": p.GEOM_SPHERE, "cylinder": p.GEOM_CYLINDER, "capsule": p.GEOM_CAPSULE}


def _rgba(color: Sequence[float]) -> list[float]:
    return [float(c) for c in color[:3]] + [1.0]


def _quat(euler: Vec3) -> tuple[float, float, float, float]:
    return p.getQuaternionFromEuler([float(a) for a in euler])


def _shape_kwargs(part: Part, visual: bool) -> dict:
    """pybullet's keyword arguments for one primitive (a cylinder's or capsule's length is ``height`` for collision,
    ``length`` for visual shapes)."""
    if part.shape == "box":
        return {"halfExtents": [float(s) for s in part.size]}
    if part.shape == "sphere":
        return {"radius": float(part.size[0])}
    if part.shape in ("cylinder", "capsule"):
        return {"radius": float(part.size[0]), ("length" if visual else "height"): float(part.size[1])}
    raise ValueError(f"unknown primitive {part.shape!r}; expected one of {sorted(_SHAPES)}")


def _shape_arrays(parts: Sequence[Part], kind: str) -> dict:
    """Keyword arguments of pybullet's create{Collision,Visual}ShapeArray for ``parts`` (``kind``: "collision" or
    "visual")."""
    sizes = {"halfExtents": [], "radii": [], "lengths": []}
    for part in parts:
        kw = _shape_kwargs(part, True)
        sizes["halfExtents"].append(kw.get("halfExtents", [0.0, 0.0, 0.0]))
        sizes["radii"].append(kw.get("radius", 0.0))
        sizes["lengths"].append(kw.get("length", 0.0))
    frame = "collisionFrame" if kind == "collision" else "visualFrame"
    return {
        "shapeTypes": [_SHAPES[part.shape] for part in parts],
        **sizes,
        f"{frame}Positions": [[float(x) for x in part.offset] for part in parts],
        f"{frame}Orientations": [_quat(part.euler) for part in parts],
    }


def _acquire_client(deformable: bool) -> int:
    """A connected DIRECT client that no World holds: an idle one of this kind, else a new one. The World resets it."""
    idle = _IDLE_CLIENTS[deformable]
    while idle:
        client = idle.pop()
        if p.isConnected(client):
            return client
    return p.connect(p.DIRECT)


def _release_client(client: int, deformable: bool) -> None:
    """Keep ``client`` for reuse (its bodies are cleared when it is next acquired), or disconnect it if enough are
    idle already."""
    if not p.isConnected(client):
        return
    idle = _IDLE_CLIENTS[deformable]
    if len(idle) < _MAX_IDLE:
        idle.append(client)
    else:
        p.disconnect(client)


class World:
    """A pybullet physics client in DIRECT mode with gravity along -z and a fixed time step.

    time_step:  seconds per ``step()``.
    deformable: build the world with ``RESET_USE_DEFORMABLE_WORLD`` (needed for cloth).
    fps, num_frames: the trial's rendering schedule (the world renders one frame every ``substeps`` steps); scenes
                read them to know how long a trial lasts.
    """

    def __init__(
        self,
        time_step: float,
        *,
        deformable: bool = False,
        solver_iterations: int = 50,
        fps: int = 30,
        num_frames: int = 150,
    ):
        self.client = _acquire_client(deformable)
        self.time_step = float(time_step)
        self.deformable = deformable
        self.solver_iterations = solver_iterations
        self.fps, self.num_frames = int(fps), int(num_frames)
        self.substeps = max(1, int(round(1.0 / (self.time_step * self.fps))))
        self.steps = 0
        self._room: tuple | None = None
        self.soft_bodies: set[int] = set()
        self._soft_last: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}  # body -> (step, centroid, velocity)
        self._tmpdir: tempfile.TemporaryDirectory | None = None
        p.resetSimulation(p.RESET_USE_DEFORMABLE_WORLD if deformable else 0, physicsClientId=self.client)
        p.setGravity(0.0, 0.0, -GRAVITY, physicsClientId=self.client)
        p.setPhysicsEngineParameter(
            fixedTimeStep=self.time_step,
            numSolverIterations=solver_iterations,
            deterministicOverlappingPairs=1,
            physicsClientId=self.client,
        )

    # ----------------------------------------------------------------------------------------------- lifetime
    def close(self) -> None:
        if self.client is not None:
            _release_client(self.client, self.deformable)
        self.client = None
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> "World":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def time(self) -> float:
        """Simulated seconds since the start."""
        return self.steps * self.time_step

    def sibling(self) -> "World":
        """A new world with the same settings and the same room, and nothing else (for rehearsing a scene)."""
        other = World(
            self.time_step,
            deformable=self.deformable,
            solver_iterations=self.solver_iterations,
            fps=self.fps,
            num_frames=self.num_frames,
        )
        if self._room is not None:
            other.room(*self._room)
        return other

    # ------------------------------------------------------------------------------------------ body builders
    def _finish(self, body: int, material: Material, color: Sequence[float]) -> int:
        p.changeDynamics(
            body,
            -1,
            lateralFriction=material.friction,
            restitution=material.restitution,
            rollingFriction=material.rolling_friction,
            spinningFriction=material.spinning_friction,
            linearDamping=0.0,
            angularDamping=0.0,
            physicsClientId=self.client,
        )
        p.changeVisualShape(body, -1, rgbaColor=_rgba(color), physicsClientId=self.client)
        return body

    def _multibody(self, collision: int, visual: int, position: Vec3, euler: Vec3, mass: float) -> int:
        return p.createMultiBody(
            baseMass=float(mass),
            baseCollisionShapeIndex=collision,
            baseVisualShapeIndex=visual,
            basePosition=[float(x) for x in position],
            baseOrientation=_quat(euler),
            physicsClientId=self.client,
        )

    def room(
        self,
        half_extent: float,
        height: float,
        floor_color: Sequence[float],
        wall_color: Sequence[float],
        material: Material,
    ) -> tuple[int, int]:
        """A static square room ``2 * half_extent`` wide: a floor with its top face at z = 0, and four walls (one
        body) ``height`` metres tall. Returns (floor, walls)."""
        if self.body_ids():
            raise ValueError("build the room first, in an empty world")
        self._room = (half_extent, height, tuple(floor_color), tuple(wall_color), material)
        floor = self.box(
            (half_extent, half_extent, 0.05), (0.0, 0.0, -0.05), mass=0.0, color=floor_color, material=material
        )
        half_height = 0.5 * height
        walls = [
            Part("box", (0.05, half_extent, half_height), offset=(sign * half_extent, 0.0, half_height))
            for sign in (-1.0, 1.0)
        ]
        walls += [
            Part("box", (half_extent, 0.05, half_height), offset=(0.0, sign * half_extent, half_height))
            for sign in (-1.0, 1.0)
        ]
        return floor, self.compound(walls, (0.0, 0.0, 0.0), mass=0.0, color=wall_color, material=material)

    def primitive(
        self,
        part: Part,
        position: Vec3,
        *,
        mass: float,
        color: Sequence[float],
        euler: Vec3 = (0.0, 0.0, 0.0),
        material: Material = Material(),
    ) -> int:
        """A single box, sphere, cylinder or capsule (``part.offset``/``part.euler`` ignored); ``mass`` 0 makes it
        static."""
        client = self.client
        collision = p.createCollisionShape(_SHAPES[part.shape], physicsClientId=client, **_shape_kwargs(part, False))
        visual = p.createVisualShape(_SHAPES[part.shape], physicsClientId=client, **_shape_kwargs(part, True))
        return self._finish(self._multibody(collision, visual, position, euler, mass), material, color)

    def box(self, half_extents: Vec3, position: Vec3, **kwargs) -> int:
        """A box; see ``primitive`` for the keyword arguments."""
        return self.primitive(Part("box", tuple(half_extents)), position, **kwargs)

    def sphere(self, radius: float, position: Vec3, **kwargs) -> int:
        return self.primitive(Part("sphere", (radius,)), position, **kwargs)

    def cylinder(self, radius: float, height: float, position: Vec3, **kwargs) -> int:
        """An upright cylinder (axis along z before ``euler``)."""
        return self.primitive(Part("cylinder", (radius, height)), position, **kwargs)

    def compound(
        self,
        parts: Sequence[Part],
        position: Vec3,
        *,
        mass: float,
        color: Sequence[float],
        euler: Vec3 = (0.0, 0.0, 0.0),
        material: Material = Material(),
        visual_parts: Sequence[Part] | None = None,
    ) -> int:
        """One rigid body made of several primitives (its centre of mass is the body origin). ``visual_parts``
        (default: ``parts``) are what the camera sees."""
        client = self.client
        collision = p.createCollisionShapeArray(
            **_shape_arrays(parts, "collision"),
            physicsClientId=client,
        )
        visual = p.createVisualShapeArray(
            **_shape_arrays(parts if visual_parts is None else visual_parts, "visual"),
            physicsClientId=client,
        )
        return self._finish(self._multibody(collision, visual, position, euler, mass), material, color)

    def mesh(
        self,
        mesh: Mesh,
        position: Vec3,
        *,
        mass: float,
        color: Sequence[float],
        euler: Vec3 = (0.0, 0.0, 0.0),
        material: Material = Material(),
    ) -> int:
        """A body shaped by ``mesh`` (collision: the convex hull of ``mesh.hull``)."""
        client = self.client
        collision = p.createCollisionShape(p.GEOM_MESH, vertices=mesh.hull.tolist(), physicsClientId=client)
        visual = p.createVisualShape(
            p.GEOM_MESH,
            vertices=mesh.vertices.tolist(),
            indices=mesh.indices.tolist(),
            normals=mesh.normals.tolist(),
            physicsClientId=client,
        )
        return self._finish(self._multibody(collision, visual, position, euler, mass), material, color)

    def cloth(
        self,
        size: float,
        nodes: int,
        position: Vec3,
        *,
        mass: float,
        color: Sequence[float],
        yaw: float = 0.0,
        stiffness: float = 40.0,
        damping: float = 0.1,
        friction: float = 0.5,
        margin: float = 0.006,
    ) -> int:
        """A square mass-spring cloth (soft body), flat and horizontal, centred at ``position`` and turned ``yaw``
        radians about z; needs a deformable world. Its simulated nodes keep ``cloth_obj``'s order (a row-major
        ``nodes x nodes`` grid, see ``soft_nodes``). ``stiffness``/``damping`` are the spring constants; bending springs
        keep it from crumpling like paper.
        """
        if not self.deformable:
            raise ValueError("cloth needs a World(deformable=True)")
        if self._tmpdir is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="physion_cloth_")
        path = os.path.join(self._tmpdir.name, f"cloth_{len(self.soft_bodies)}.obj")
        with open(path, "w", encoding="ascii") as handle:
            handle.write(cloth_obj(size, nodes))
        body = p.loadSoftBody(
            path,
            basePosition=[float(x) for x in position],
            baseOrientation=_quat((0.0, 0.0, yaw)),
            scale=1.0,
            mass=float(mass),
            useNeoHookean=0,
            useMassSpring=1,
            useBendingSprings=1,
            springElasticStiffness=float(stiffness),
            springDampingStiffness=float(damping),
            springDampingAllDirections=1,
            useSelfCollision=0,
            frictionCoeff=float(friction),
            useFaceContact=1,
            collisionMargin=float(margin),
            physicsClientId=self.client,
        )
        p.changeVisualShape(
            body, -1, rgbaColor=_rgba(color), flags=p.VISUAL_SHAPE_DOUBLE_SIDED, physicsClientId=self.client
        )
        self.soft_bodies.add(body)
        return body

    # ------------------------------------------------------------------------------------------------ motion
    def set_velocity(self, body: int, linear: Vec3, angular: Vec3 = (0.0, 0.0, 0.0)) -> None:
        p.resetBaseVelocity(body, [float(v) for v in linear], [float(w) for w in angular], physicsClientId=self.client)

    def apply_impulse(self, body: int, impulse: Vec3, offset: Vec3 = (0.0, 0.0, 0.0)) -> None:
        """Give ``body`` the momentum ``impulse`` (N s, world frame) during the next step, applied ``offset`` metres
        from its centre of mass (a non-zero offset also spins it)."""
        position, _ = p.getBasePositionAndOrientation(body, physicsClientId=self.client)
        force = [float(i) / self.time_step for i in impulse]
        point = [float(c) + float(o) for c, o in zip(position, offset)]
        p.applyExternalForce(body, -1, force, point, p.WORLD_FRAME, physicsClientId=self.client)

    def step(self) -> None:
        p.stepSimulation(physicsClientId=self.client)
        self.steps += 1

    def sync_soft_visuals(self) -> None:
        """Bring soft bodies' rendered meshes up to date before the first step (pybullet refreshes them only inside a
        step): one step of a microsecond, which moves nothing measurably and is not counted in ``steps``."""
        if not self.soft_bodies:
            return
        client = self.client
        p.setPhysicsEngineParameter(fixedTimeStep=1e-6, physicsClientId=client)
        p.stepSimulation(physicsClientId=client)
        p.setPhysicsEngineParameter(fixedTimeStep=self.time_step, physicsClientId=client)

    # ---------------------------------------------------------------------------------------------- queries
    def body_ids(self) -> list[int]:
        """Unique ids of every body in the world (rigid and soft)."""
        client = self.client
        return [p.getBodyUniqueId(i, physicsClientId=client) for i in range(p.getNumBodies(physicsClientId=client))]

    def mass(self, body: int) -> float:
        return float(p.getDynamicsInfo(body, -1, physicsClientId=self.client)[0])

    def touching(self, a: int, b: int, tolerance: float = CONTACT_TOLERANCE) -> bool:
        """Whether ``a`` and ``b`` touched in the last step (a contact point closer than ``tolerance`` metres)."""
        points = p.getContactPoints(bodyA=a, bodyB=b, physicsClientId=self.client)
        return any(point[8] <= tolerance for point in points)

    def deepest_overlap(self, bodies: Sequence[int]) -> tuple[float, int, int]:
        """The deepest interpenetration among ``bodies`` right now: (depth in metres >= 0, body a, body b).

        Pairs of two static (mass 0) bodies are skipped: a ramp sunk into the floor is scenery, not a glitch.
        """
        p.performCollisionDetection(physicsClientId=self.client)
        deepest = (0.0, -1, -1)
        static = {b for b in bodies if b not in self.soft_bodies and self.mass(b) == 0.0}
        for i, a in enumerate(bodies):
            for b in bodies[i + 1 :]:
                if a in static and b in static:
                    continue
                for point in p.getContactPoints(bodyA=a, bodyB=b, physicsClientId=self.client):
                    if -point[8] > deepest[0]:
                        deepest = (-float(point[8]), a, b)
        return deepest

    def soft_nodes(self, body: int) -> np.ndarray:
        """(N, 3) world positions of a soft body's simulated nodes."""
        _, nodes = p.getMeshData(body, -1, flags=p.MESH_DATA_SIMULATION_MESH, physicsClientId=self.client)
        return np.asarray(nodes, dtype=np.float64)

    def state(self, body: int) -> tuple[np.ndarray, np.ndarray]:
        """World position (3,) and linear velocity (3,) of ``body``.

        Rigid bodies: centre of mass and its velocity. Soft bodies (no single velocity in pybullet): the centroid of the
        nodes, and its velocity since the previous ``state`` call for that body (zero on the first call).
        """
        client = self.client
        if body not in self.soft_bodies:
            position, _ = p.getBasePositionAndOrientation(body, physicsClientId=client)
            velocity, _ = p.getBaseVelocity(body, physicsClientId=client)
            return np.asarray(position, dtype=np.float64), np.asarray(velocity, dtype=np.float64)
        previous = self._soft_last.get(body)
        if previous is not None and previous[0] == self.steps:
            return previous[1], previous[2]
        centroid = self.soft_nodes(body).mean(axis=0)
        if previous is None:
            velocity = np.zeros(3)
        else:
            velocity = (centroid - previous[1]) / ((self.steps - previous[0]) * self.time_step)
        self._soft_last[body] = (self.steps, centroid, velocity)
        return centroid, velocity
