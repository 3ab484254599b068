"""The camera: a scenario's nominal view (``CameraRig``), its per-trial jittered draw (``Camera``), and rendering.

Rendering uses pybullet's CPU TinyRenderer with a directional light and no shadows: TinyRenderer's shadow map
draws stripes and blotches on large floors and costs 2.4x the render time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pybullet as p

from physion.engine.shapes import Vec3
from physion.engine.world import World

NEAR, FAR = 0.05, 30.0  # metres; the room's walls stand 8 m from the origin
LIGHT = {"lightAmbientCoeff": 0.55, "lightDiffuseCoeff": 0.5, "lightSpecularCoeff": 0.05}


@dataclass(frozen=True)
class CameraRig:
    """A scenario's nominal camera and how much each trial may deviate from it.

    The camera sits ``distance`` metres from ``target``, ``elevation`` degrees above the horizontal, at ``azimuth``
    degrees around the z axis (0: on the -y side looking towards +y, so +x runs left to right in the image).
    """

    target: Vec3 = (0.0, 0.0, 0.2)
    distance: float = 3.0
    azimuth: float = 0.0
    elevation: float = 25.0
    fov: float = 45.0
    azimuth_jitter: float = 12.0
    elevation_jitter: float = 4.0
    distance_jitter: float = 0.08  # relative
    target_jitter: float = 0.06  # metres, per axis (x, y)
    fov_jitter: float = 3.0


@dataclass(frozen=True)
class Camera:
    """One trial's camera (angles in degrees) and light direction (a vector towards the light)."""

    target: Vec3
    distance: float
    azimuth: float
    elevation: float
    fov: float
    light_direction: Vec3

    @classmethod
    def sample(cls, rig: CameraRig, rng: np.random.Generator) -> "Camera":
        """The rig's camera with uniform jitter on every quantity, and a random light from above."""
        dx, dy = rng.uniform(-rig.target_jitter, rig.target_jitter, size=2)
        azimuth = float(rig.azimuth + rng.uniform(-rig.azimuth_jitter, rig.azimuth_jitter))
        # Light from above and from the camera's side (within 60 degrees), so the faces we see are lit.
        light_azimuth = np.radians(azimuth + rng.uniform(-60.0, 60.0))
        return cls(
            target=(float(rig.target[0] + dx), float(rig.target[1] + dy), float(rig.target[2])),
            distance=float(rig.distance * (1.0 + rng.uniform(-rig.distance_jitter, rig.distance_jitter))),
            azimuth=azimuth,
            elevation=float(rig.elevation + rng.uniform(-rig.elevation_jitter, rig.elevation_jitter)),
            fov=float(rig.fov + rng.uniform(-rig.fov_jitter, rig.fov_jitter)),
            light_direction=(float(np.sin(light_azimuth)), float(-np.cos(light_azimuth)), 1.5),
        )

    @classmethod
    def nominal(cls, rig: CameraRig) -> "Camera":
        """The rig's camera without jitter (light from the camera's direction)."""
        azimuth = np.radians(rig.azimuth)
        return cls(
            target=tuple(float(v) for v in rig.target),
            distance=float(rig.distance),
            azimuth=float(rig.azimuth),
            elevation=float(rig.elevation),
            fov=float(rig.fov),
            light_direction=(float(np.sin(azimuth)), float(-np.cos(azimuth)), 1.5),
        )

    def project(self, points: np.ndarray) -> np.ndarray:
        """Normalised image coordinates (N, 2) of world points (N, 3): x right, y up, both in [-1, 1] when in view
        (points behind the camera get coordinates far outside)."""
        view, projection = (np.asarray(m, dtype=np.float64).reshape(4, 4).T for m in self.matrices())  # column-major
        homogeneous = np.concatenate([np.asarray(points, dtype=np.float64), np.ones((len(points), 1))], axis=1)
        clip = homogeneous @ (projection @ view).T
        w = clip[:, 3:4]
        return np.where(w > 1e-6, clip[:, :2] / np.where(w > 1e-6, w, 1.0), 1e6)

    @property
    def eye(self) -> np.ndarray:
        azimuth, elevation = np.radians(self.azimuth), np.radians(self.elevation)
        offset = self.distance * np.array(
            [
                np.sin(azimuth) * np.cos(elevation),
                -np.cos(azimuth) * np.cos(elevation),
                np.sin(elevation),
            ]
        )
        return np.asarray(self.target) + offset

    def params(self) -> dict:
        values = asdict(self)
        values["eye"] = [float(v) for v in self.eye]
        return {key: (list(v) if isinstance(v, tuple) else v) for key, v in values.items()}

    def matrices(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """pybullet's (view, projection) matrices for a square image."""
        view = p.computeViewMatrix(self.eye.tolist(), list(self.target), [0.0, 0.0, 1.0])
        projection = p.computeProjectionMatrixFOV(self.fov, 1.0, NEAR, FAR)
        return view, projection


def render(world: World, camera: Camera, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Render a square image: RGB (H, W, 3) uint8 and the segmentation buffer (H, W) int32 of body ids (-1: none)."""
    view, projection = camera.matrices()
    _, _, rgba, _, segmentation = p.getCameraImage(
        resolution,
        resolution,
        view,
        projection,
        renderer=p.ER_TINY_RENDERER,
        shadow=0,
        lightDirection=list(camera.light_direction),
        physicsClientId=world.client,
        **LIGHT,
    )
    rgb = np.asarray(rgba, dtype=np.uint8).reshape(resolution, resolution, 4)[..., :3]
    return np.ascontiguousarray(rgb), np.asarray(segmentation, dtype=np.int32).reshape(resolution, resolution)
