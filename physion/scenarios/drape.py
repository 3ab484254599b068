"""Drape: a red cloth falls across several objects, one of them the yellow zone; does the cloth touch the zone?

One to three supports (boxes and upright cylinders, 0.2-0.5 m tall) stand near the origin; the yellow patient is a
low static slab on the floor among them. The red agent is a square cloth (a pybullet mass-spring soft body in a
deformable world) released flat above the supports, off-centre and turned. It lands on the supports, then sags and
slides over their edges: whether its hanging parts reach the zone depends on the cloth's size and stiffness and on
where the supports hold it up.

The hint places the zone: the cloth's fall is rehearsed once (physics only) and candidate zone spots are scored by
the distance from the cloth's surface (its node grid, refined 3x) to the slab over time. Positives get a spot the
cloth first reaches after the observed frames, negatives one it passes close to without touching.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physion.engine import AGENT_RED, Camera, CameraRig, Material, Part, World
from physion.engine.palette import distinct_distractor_colors
from physion.errors import RejectedTrial
from physion.scenarios.base import Scenario, SceneObjects
from physion.scenarios.props import (
    describe,
    free_spot,
    half_height,
    half_width,
    on_floor,
    patient_zone,
    random_material,
)
from physion.scenarios.rehearsal import PARK, Spot, SpotOutcome, choose_spot, in_view

CLOTH_NODES = 9  # per side: 81 nodes keep a trial's cloth physics near 0.3 s at 120 Hz
CLOTH_MARGIN = 0.006
TOUCH_DISTANCE = CLOTH_MARGIN + 0.012  # metres from the refined cloth surface to the slab that count as a touch
REFINE = 3  # the node grid is refined this many times per cell before measuring distances


@dataclass
class _Layout:
    supports: list[tuple[Part, float, float, float, float, Material, tuple[float, float, float]]]
    cloth_size: float
    cloth_start: tuple[float, float, float]
    cloth_yaw: float
    cloth_mass: float
    cloth_stiffness: float
    cloth_friction: float
    zone_half: tuple[float, float, float]


def _refine(grid: np.ndarray, factor: int) -> np.ndarray:
    """Bilinear refinement of an (n, n, 3) node grid to (factor * (n - 1) + 1)^2 points, flattened to (M, 3)."""
    n = grid.shape[0]
    coords = np.linspace(0.0, n - 1, factor * (n - 1) + 1)
    low = np.minimum(np.floor(coords).astype(int), n - 2)
    frac = coords - low
    rows = grid[low] * (1 - frac)[:, None, None] + grid[low + 1] * frac[:, None, None]
    cols = rows[:, low] * (1 - frac)[None, :, None] + rows[:, low + 1] * frac[None, :, None]
    return cols.reshape(-1, 3)


def _box_distance(points: np.ndarray, spot: Spot, half: tuple[float, float, float]) -> float:
    """Smallest distance (m) from ``points`` (M, 3) to a box of half extents ``half`` on the floor at ``spot``."""
    c, s = np.cos(spot.yaw), np.sin(spot.yaw)
    dx, dy = points[:, 0] - spot.x, points[:, 1] - spot.y
    local = np.stack([c * dx + s * dy, -s * dx + c * dy, points[:, 2] - half[2]], axis=1)
    outside = np.maximum(np.abs(local) - np.asarray(half), 0.0)
    return float(np.min(np.linalg.norm(outside, axis=1)))


class Drape(Scenario):
    name = "Drape"
    deformable = True
    physics_hz = 120  # cloth stays stable at 120 Hz, and soft-body steps cost 3-5x rigid ones
    camera_rig = CameraRig(target=(0.0, 0.05, 0.2), distance=2.9, elevation=22.0, azimuth=0.0)

    def build(self, world: World, rng: np.random.Generator, want_label: bool | None) -> SceneObjects:
        layout = self._draw(rng)
        taken = [(x, y, half_width(part)) for part, x, y, *_ in layout.supports]
        zone_reach = float(np.hypot(layout.zone_half[0], layout.zone_half[1]))
        spot = free_spot(rng, list(taken), zone_reach, (-0.8, 0.8), (-0.5, 0.7), clearance=0.03, tries=200)
        if spot is None:
            raise RejectedTrial("no free floor spot for the zone")
        chosen, placement = Spot(*spot, float(rng.uniform(0, np.pi))), "random"
        if want_label is not None:
            spots = self._candidates(rng, layout, taken, zone_reach)
            picked = choose_spot(rng, self._rehearse(world, layout, spots), want_label) if spots else None
            chosen, placement = (picked, "rehearsed") if picked else (chosen, "random: no rehearsed spot fits")
        scene = self._place(world, layout, chosen)
        scene.params.update({"patient_spot": {"x": chosen.x, "y": chosen.y, "yaw": chosen.yaw}, "placement": placement})
        return scene

    def _draw(self, rng: np.random.Generator) -> _Layout:
        colors = distinct_distractor_colors(rng, 3)
        supports, taken = [], []
        for k in range(int(rng.integers(1, 4))):
            width = float(rng.uniform(0.07, 0.13))
            height = float(rng.uniform(0.2, 0.5))
            part = (
                Part("box", (width, width * float(rng.uniform(0.8, 1.3)), 0.5 * height))
                if rng.random() < 0.6
                else Part("cylinder", (width, height))
            )
            spot = (0.0, 0.0) if k == 0 else free_spot(rng, taken, half_width(part), (-0.4, 0.4), (-0.3, 0.4))
            if spot is None:
                continue
            if k == 0:
                taken.append((0.0, 0.0, half_width(part)))
            supports.append(
                (
                    part,
                    *spot,
                    float(rng.uniform(0, np.pi)),
                    float(rng.uniform(1.0, 4.0)),
                    random_material(rng, friction=(0.4, 0.8)),
                    colors[k],
                )
            )
        top = max(2.0 * half_height(part) for part, *_ in supports)
        offset = rng.uniform(-0.15, 0.15, size=2)
        return _Layout(
            supports=supports,
            cloth_size=float(rng.uniform(0.6, 0.95)),
            cloth_start=(float(offset[0]), float(offset[1]), top + float(rng.uniform(0.15, 0.45))),
            cloth_yaw=float(rng.uniform(0, np.pi / 2)),
            cloth_mass=float(rng.uniform(0.1, 0.3)),
            cloth_stiffness=float(rng.uniform(10.0, 45.0)),
            cloth_friction=float(rng.uniform(0.3, 0.8)),
            zone_half=(float(rng.uniform(0.1, 0.18)), float(rng.uniform(0.1, 0.18)), float(rng.uniform(0.01, 0.04))),
        )

    def _candidates(
        self, rng: np.random.Generator, layout: _Layout, taken: list[tuple[float, float, float]], zone_reach: float
    ) -> list[Spot]:
        """Zone spots in a ring around the supports, clear of them and in the camera's view."""
        spots = []
        for _ in range(48):
            radius = float(rng.uniform(0.15, 0.5 * layout.cloth_size * np.sqrt(2.0) + 0.4))
            angle = float(rng.uniform(0.0, 2.0 * np.pi))
            x, y = layout.cloth_start[0] + radius * np.cos(angle), layout.cloth_start[1] + radius * np.sin(angle)
            if all(np.hypot(x - tx, y - ty) >= r + zone_reach + 0.02 for tx, ty, r in taken):
                spots.append(Spot(float(x), float(y), float(rng.uniform(0.0, np.pi))))
        return in_view(spots, Camera.nominal(self.camera_rig))

    def _rehearse(self, world: World, layout: _Layout, spots: list[Spot]) -> list[SpotOutcome]:
        """Simulate the fall with the zone parked away; score each spot by the cloth surface's distance to a slab there."""
        with world.sibling() as stage:
            scene = self._place(stage, layout, PARK)
            surfaces = []
            for _ in self.advance(stage, scene):
                grid = stage.soft_nodes(scene.agent).reshape(CLOTH_NODES, CLOTH_NODES, 3)
                surfaces.append(_refine(grid, REFINE))
        outcomes = []
        for spot in spots:
            distances = np.array([_box_distance(points, spot, layout.zone_half) for points in surfaces])
            touching = np.flatnonzero(distances <= TOUCH_DISTANCE)
            outcomes.append(
                SpotOutcome(spot, int(touching[0]) if len(touching) else None, float(distances.min()), blocked=False)
            )
        return outcomes

    def _place(self, world: World, layout: _Layout, spot: Spot) -> SceneObjects:
        others, records = {}, []
        for k, (part, x, y, yaw, mass, material, color) in enumerate(layout.supports):
            others[f"support_{k}"] = on_floor(world, part, x, y, yaw=yaw, mass=mass, color=color, material=material)
            records.append(describe(part, (x, y, 0.0), mass, material, yaw=yaw))
        patient = patient_zone(world, layout.zone_half, spot)
        cloth = world.cloth(
            layout.cloth_size,
            CLOTH_NODES,
            layout.cloth_start,
            mass=layout.cloth_mass,
            color=AGENT_RED,
            yaw=layout.cloth_yaw,
            stiffness=layout.cloth_stiffness,
            friction=layout.cloth_friction,
            margin=CLOTH_MARGIN,
        )
        return SceneObjects(
            agent=cloth,
            patient=patient,
            others=others,
            params={
                "supports": records,
                "cloth": {
                    "size": layout.cloth_size,
                    "nodes": CLOTH_NODES,
                    "start": list(layout.cloth_start),
                    "yaw": layout.cloth_yaw,
                    "mass": layout.cloth_mass,
                    "stiffness": layout.cloth_stiffness,
                    "friction": layout.cloth_friction,
                },
                "zone_half_extents": list(layout.zone_half),
            },
        )
