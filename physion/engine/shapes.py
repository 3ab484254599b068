"""Materials and geometry for scene building: compound parts (rings, containers), wedge meshes, cloth meshes.

Lengths are metres, angles radians; ``euler`` is (roll, pitch, yaw) about the world x, y, z axes as pybullet's
``getQuaternionFromEuler`` reads it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class Material:
    """Contact properties of a body. Bullet multiplies the two bodies' friction (and restitution) at a contact."""

    friction: float = 0.5
    restitution: float = 0.2
    rolling_friction: float = 0.0
    spinning_friction: float = 0.0

    def params(self) -> dict[str, float]:
        return {key: float(value) for key, value in asdict(self).items()}


@dataclass(frozen=True)
class Part:
    """One primitive of a compound body, placed in the body's frame.

    shape: "box" (size = half extents x, y, z), "sphere" (size = (radius,)), "cylinder" or "capsule" (size =
    (radius, length of the straight part), axis along the part's z).
    """

    shape: str
    size: tuple[float, ...]
    offset: Vec3 = (0.0, 0.0, 0.0)
    euler: Vec3 = (0.0, 0.0, 0.0)


def ring_parts(radius: float, tube: float, segments: int = 6) -> list[Part]:
    """A torus-like ring in the xy plane: ``segments`` capsules of radius ``tube`` joined around a circle.

    ``radius`` is the distance from the ring's centre to the middle of the tube; the hole's radius is about
    ``radius - tube``. Capsules meet at their rounded ends, so the ring has no gaps a pole could slip through, and
    capsule-capsule contacts are cheap (a ring of boxes costs 5x the physics time).
    """
    if segments < 3 or tube <= 0 or radius <= tube:
        raise ValueError(f"ring needs segments >= 3 and radius > tube > 0, got {segments}, {radius}, {tube}")
    chord = 2.0 * radius * np.sin(np.pi / segments)
    apothem = radius * np.cos(np.pi / segments)  # distance from the centre to the middle of each chord
    parts = []
    for k in range(segments):
        angle = 2.0 * np.pi * (k + 0.5) / segments
        # Roll a quarter turn lays the capsule's z axis along -y; the yaw then turns it tangent to the circle.
        parts.append(
            Part(
                "capsule",
                (tube, float(chord)),
                offset=(float(apothem * np.cos(angle)), float(apothem * np.sin(angle)), 0.0),
                euler=(float(np.pi / 2), 0.0, float(angle)),
            )
        )
    return parts


def box_stand_in(part: Part) -> Part:
    """A box of about the same extent and frame as a capsule ``part``: cheap to render (12 triangles, against
    hundreds for a tessellated capsule), for use as its visual shape."""
    if part.shape != "capsule":
        raise ValueError(f"box_stand_in takes a capsule part, got {part.shape!r}")
    radius, length = part.size
    return Part("box", (radius, radius, 0.5 * length + 0.5 * radius), offset=part.offset, euler=part.euler)


def open_box_parts(inner_half: Vec3, wall: float) -> list[Part]:
    """A container open at the top: a base plate and four walls around an inner space of half extents ``inner_half``.

    The body's origin is the centre of the base plate's bottom face, so placing it at z = 0 rests it on the floor.
    """
    hx, hy, hz = inner_half
    half_wall = 0.5 * wall
    base = Part("box", (hx + wall, hy + wall, half_wall), offset=(0.0, 0.0, half_wall))
    wall_z = wall + hz
    return [
        base,
        Part("box", (half_wall, hy + wall, hz), offset=(hx + half_wall, 0.0, wall_z)),
        Part("box", (half_wall, hy + wall, hz), offset=(-hx - half_wall, 0.0, wall_z)),
        Part("box", (hx, half_wall, hz), offset=(0.0, hy + half_wall, wall_z)),
        Part("box", (hx, half_wall, hz), offset=(0.0, -hy - half_wall, wall_z)),
    ]


@dataclass(frozen=True)
class Mesh:
    """A triangle mesh for a visual shape: flat-shaded (each triangle has its own three vertices and normal).

    vertices: (3N, 3) float, indices: (3N,) int, normals: (3N, 3) unit float; ``hull`` is the (K, 3) point cloud whose
    convex hull is the collision shape.
    """

    vertices: np.ndarray
    indices: np.ndarray
    normals: np.ndarray
    hull: np.ndarray


def wedge_mesh(length: float, width: float, height: float) -> Mesh:
    """A ramp: a right-triangular prism rising from height 0 at x = +length/2 to ``height`` at x = -length/2.

    The bottom face lies on z = 0 and is centred on the origin; the slope faces +x.
    """
    lx, wy = 0.5 * length, 0.5 * width
    corners = np.array(
        [
            (-lx, -wy, 0.0),
            (lx, -wy, 0.0),
            (-lx, wy, 0.0),
            (lx, wy, 0.0),
            (-lx, -wy, height),
            (-lx, wy, height),
        ]
    )
    # Counter-clockwise seen from outside, so the computed normals point outwards.
    triangles = [(0, 2, 3), (0, 3, 1), (0, 1, 4), (2, 5, 3), (0, 4, 5), (0, 5, 2), (1, 3, 5), (1, 5, 4)]
    vertices, normals = [], []
    for tri in triangles:
        a, b, c = corners[list(tri)]
        normal = np.cross(b - a, c - a)
        normal /= np.linalg.norm(normal)
        vertices.extend([a, b, c])
        normals.extend([normal] * 3)
    return Mesh(
        vertices=np.asarray(vertices, dtype=float),
        indices=np.arange(len(vertices), dtype=np.int32),
        normals=np.asarray(normals, dtype=float),
        hull=corners,
    )


def cloth_obj(size: float, nodes: int) -> str:
    """Wavefront OBJ text of a square cloth in the xy plane: ``nodes x nodes`` vertices over ``size x size`` metres.

    Centred on the origin; pybullet's ``loadSoftBody`` turns each vertex into a simulated node.
    """
    if nodes < 2 or size <= 0:
        raise ValueError(f"cloth needs nodes >= 2 and size > 0, got {nodes}, {size}")
    coords = np.linspace(-0.5 * size, 0.5 * size, nodes)
    lines = [f"v {x:.6f} {y:.6f} 0.000000" for x in coords for y in coords]
    for i in range(nodes - 1):
        for j in range(nodes - 1):
            a = i * nodes + j + 1  # OBJ indices are 1-based
            b, c, d = a + 1, a + nodes, a + nodes + 1
            lines.append(f"f {a} {c} {b}")
            lines.append(f"f {b} {c} {d}")
    return "\n".join(lines) + "\n"
