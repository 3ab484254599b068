"""Key names and small codecs shared by the trial HDF5 writer and reader (the layout is documented in ``physion.storage.store``)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

FORMAT_VERSION = 1
FRAME_KEY = "{:04d}"  # tdw_physics names frame groups 0000, 0001, ...
CONTACT_LABEL = "target_contacting_zone"
# Newer (multi-view) tdw_physics writes "_img_cam0" / "_id_cam0"; Physion's files use "_img" / "_id".
IMAGE_KEYS = ("_img", "_img_cam0")
ID_KEYS = ("_id", "_id_cam0")
MAX_OBJECTS = 215  # distinct non-black colours of the 6x6x6 palette below


def segmentation_colors(num_objects: int) -> np.ndarray:
    """(O, 3) uint8 distinct, non-black colours: object k is drawn with row k in ``_id`` images.

    Colours are points of a 6-level RGB cube (levels 0, 51, ..., 255), visited in a scrambled order
    (multiplying by 97, coprime to 215, permutes 1..215) so neighbouring objects get unlike colours.
    """
    if num_objects > MAX_OBJECTS:
        raise ValueError(f"at most {MAX_OBJECTS} objects get distinct segmentation colours, got {num_objects}")
    codes = (np.arange(1, num_objects + 1) * 97) % MAX_OBJECTS + 1  # in 1..215, never 0 (black)
    digits = np.stack([codes // 36, (codes // 6) % 6, codes % 6], axis=1)
    return (digits * 51).astype(np.uint8)


def encode_png(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> PNG file bytes as a 1-D uint8 array (how tdw_physics stores image passes)."""
    buffer = io.BytesIO()
    Image.fromarray(image, mode="RGB").save(buffer, format="PNG")
    return np.frombuffer(buffer.getvalue(), dtype=np.uint8)


def decode_image(data: np.ndarray) -> np.ndarray:
    """Encoded image bytes (PNG, or JPEG as TDW may write ``_img``) -> (H, W, 3) uint8 RGB."""
    with Image.open(io.BytesIO(np.asarray(data, dtype=np.uint8).tobytes())) as image:
        return np.asarray(image.convert("RGB"))


def image_size(data: np.ndarray) -> tuple[int, int]:
    """(H, W) of encoded image bytes, read from the header only (no pixel decoding)."""
    with Image.open(io.BytesIO(np.asarray(data, dtype=np.uint8).tobytes())) as image:
        width, height = image.size
    return height, width


def colors_to_segmentation(id_image: np.ndarray, colors: np.ndarray) -> np.ndarray:
    """(H, W, 3) ``_id`` colour image + (O, 3) object colours -> (H, W) int32 map (0 = background or unknown colour).

    Objects whose colour is black (tdw_physics writes [0, 0, 0] for objects it found no colour for) get no pixels.
    """

    def pack(rgb: np.ndarray) -> np.ndarray:
        rgb = rgb.astype(np.int64)
        return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]

    object_codes = pack(colors.reshape(-1, 3))
    segmentation = np.zeros(id_image.shape[:2], dtype=np.int32)
    pixel_codes = pack(id_image)
    for k, code in enumerate(object_codes):
        if code != 0:
            segmentation[pixel_codes == code] = k + 1
    return segmentation


def segmentation_to_colors(segmentation: np.ndarray, colors: np.ndarray) -> np.ndarray:
    """(H, W) int map + (O, 3) colours -> (H, W, 3) uint8 ``_id`` image with a black background."""
    lut = np.concatenate([np.zeros((1, 3), dtype=np.uint8), colors.astype(np.uint8)], axis=0)
    return lut[segmentation]
