"""The `objects` and `vdt-objects` feature families on hand-painted frames with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physion.engine.palette import AGENT_RED, FLOOR_COLORS, PATIENT_YELLOW
from pipelines.features.objects import (
    FAR,
    find_objects,
    object_entities,
    object_vectors,
    per_frame_features,
    pool_under_masks,
    vdt_object_entities,
    vdt_object_vectors,
)
from pipelines.stages.extract import copy_last
from pipelines.stages.layout import feature_key

H = W = 16


def video(frames: int = 4) -> torch.Tensor:
    """(1, frames, 3, 16, 16) in [-1, 1]: a red 4x4 agent moving right towards a fixed yellow 4x4 patient; they
    touch (one empty column between them) in frame 2; the agent is gone in the last frame."""
    x = torch.tensor(FLOOR_COLORS[0]).view(1, 1, 3, 1, 1).expand(1, frames, 3, H, W).clone() * 2 - 1
    red, yellow = torch.tensor(AGENT_RED).view(3, 1, 1) * 2 - 1, torch.tensor(PATIENT_YELLOW).view(3, 1, 1) * 2 - 1
    for t in range(frames):
        x[0, t, :, 8:12, 12:16] = yellow
        if t < frames - 1:
            x[0, t, :, 8:12, 3 * t + 1 : 3 * t + 5] = red  # cols 1-4, 4-7, 7-10
    return x


def test_per_frame_features_and_the_linear_vector():
    objects = find_objects(video())
    per_frame = per_frame_features(objects)  # (1, 4, 18)
    assert per_frame.shape == (1, 4, 18)
    agent, patient, pair = per_frame[0, :, :8], per_frame[0, :, 8:16], per_frame[0, :, 16:]
    assert agent[:, 0].tolist() == [1, 1, 1, 0] and patient[:, 0].tolist() == [1, 1, 1, 1]
    np.testing.assert_allclose(agent[:3, 2], [3 / 16, 6 / 16, 9 / 16])  # centroid x moves 3 px per frame
    np.testing.assert_allclose(agent[3, 1:], 0)  # absent: zeros, flagged by presence
    np.testing.assert_allclose(pair[:, 0], [8 / 16, 5 / 16, 2 / 16, FAR], rtol=1e-6)
    assert pair[:, 1].tolist() == [0, 0, 1, 0]
    vector = object_vectors(objects, bins=2)
    assert vector.shape == (1, 2 * 18 + 6 + 2 + 8)
    np.testing.assert_allclose(vector[0, :18], per_frame[0, :2].mean(0))  # first bin: frames 0 and 1
    # pair summaries: min distance (2 px) and its log, contact max and share (frame 2 of 4), adjacency (never
    # within sqrt(2) px: one empty column between them), each bin's min distance (frames 0-1: 5 px, 2-3: 2 px)
    np.testing.assert_allclose(
        vector[0, 36:44], [2 / 16, np.log(2 / 16), 1, 1 / 4, 0, 0, 5 / 16, 2 / 16], rtol=1e-6, atol=1e-7
    )
    # motion: the agent got 6 px from where it was first seen (also in its last frame seen), its 4 x 4 box never
    # changed; the patient never moved
    np.testing.assert_allclose(vector[0, -8:], [6 / 16, 6 / 16, 0, 4 / 16, 0, 0, 0, 4 / 16], atol=1e-6)


def test_object_entities_carry_identity():
    e = object_entities(find_objects(video()))
    assert e.shape == (1, 4, 2, 10)
    assert e[0, :, 0, -2:].tolist() == [[1, 0]] * 4 and e[0, :, 1, -2:].tolist() == [[0, 1]] * 4
    np.testing.assert_allclose(e[0, 0, 1, 2:4], [14 / 16, 10 / 16])  # the patient's centroid


def test_tokens_pooled_under_the_masks():
    frames = video()
    objects = find_objects(frames)
    # a 4x4 token grid (4 px per token): token value = its own (row, col), so a pooled mean is a mean position
    rows, cols = torch.meshgrid(torch.arange(4.0), torch.arange(4.0), indexing="ij")
    tokens = torch.stack([rows, cols], -1).expand(1, 4, 4, 4, 2)
    pooled = pool_under_masks(tokens, objects)  # (1, 4, 3, 3)
    assert pooled.shape == (1, 4, 3, 3)
    # frame 1: agent on pixel cols 4-7 = token col 1, rows 8-11 = token row 2: exactly one token
    np.testing.assert_allclose(pooled[0, 1, 0], [2, 1, 1 / 16], atol=2e-3)  # soft masks: ~0.99 inside
    # frame 0: agent on cols 1-4: 3/4 in token col 0, 1/4 in col 1 -> weighted mean col 0.25
    np.testing.assert_allclose(pooled[0, 0, 0], [2, 0.25, 1 / 16], atol=2e-3)
    np.testing.assert_allclose(pooled[0, :, 1], [[2, 3, 1 / 16]] * 4, atol=2e-3)  # the patient: token (2, 3)
    np.testing.assert_allclose(pooled[0, :, 2], [[1.5, 1.5, 1]] * 4)  # the global mean token
    np.testing.assert_allclose(pooled[0, 3, 0], [1.5, 1.5, 0], atol=1e-4)  # absent agent: global, mass 0
    vector = vdt_object_vectors(pooled, bins=2)
    assert vector.shape == (1, (2 * 3 + 2) * 3)
    np.testing.assert_allclose(vector[0, :9], pooled[0, :2].flatten(1).mean(0))  # first bin: frames 0 and 1
    # the peaks over time: the agent got furthest right in frame 2 (cols 7-10: token col 1.75), the patient stays
    np.testing.assert_allclose(vector[0, -6:], [2, 1.75, 1 / 16, 2, 3, 1 / 16], atol=2e-3)
    entities = vdt_object_entities(pooled)
    assert entities.shape == (1, 4, 3, 6) and entities[0, 0, :, 3:].tolist() == torch.eye(3).tolist()


def test_copy_last_repeats_the_last_observed_frame_and_keys():
    x = torch.arange(2 * 3, dtype=torch.float32).reshape(2, 3, 1)
    out = copy_last(x, 5)
    assert out[:, :, 0].tolist() == [[0, 1, 2, 2, 2], [3, 4, 5, 5, 5]]
    assert feature_key("vdt", "linear", "copy-last") == "vdt_copy-last"
    assert feature_key("objects", "relational", "full") == "objects_entities_full"
    assert feature_key("objects", "linear", "full") == "objects_full"


def test_adjacency_needs_touching_pixels_and_contact_allows_one_between():
    x = video()
    x[0, 2, :, 8:12, 7:12] = torch.tensor(AGENT_RED).view(3, 1, 1) * 2 - 1  # frame 2: the agent reaches col 11
    vector = object_vectors(find_objects(x), bins=2)
    pair = vector[0, 36:42].tolist()
    assert pair[0] == pytest.approx(1 / 16) and pair[2:] == [1, 0.25, 1, 0.25]  # 1 px apart: both fire, frame 2
