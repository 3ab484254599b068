"""The pybullet scenario engine: worlds, shapes, materials, colours, camera and rendering."""

from physion.engine.camera import Camera, CameraRig, render
from physion.engine.palette import AGENT_RED, DISTRACTOR_COLORS, FLOOR_COLORS, PATIENT_YELLOW, WALL_COLORS
from physion.engine.shapes import Material, Mesh, Part, box_stand_in, cloth_obj, open_box_parts, ring_parts, wedge_mesh
from physion.engine.world import CONTACT_TOLERANCE, GRAVITY, World

__all__ = [
    "AGENT_RED",
    "CONTACT_TOLERANCE",
    "Camera",
    "CameraRig",
    "DISTRACTOR_COLORS",
    "FLOOR_COLORS",
    "GRAVITY",
    "Material",
    "Mesh",
    "PATIENT_YELLOW",
    "Part",
    "WALL_COLORS",
    "World",
    "cloth_obj",
    "open_box_parts",
    "render",
    "box_stand_in",
    "ring_parts",
    "wedge_mesh",
]
