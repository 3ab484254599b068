"""The v1.5 harness's frame windows, checked against indices worked out by hand from its dataloader's rules."""

import numpy as np
import pytest

from pipelines.physion_v15.windows import harness_step, ocd_indices, ocp_indices, required_frames, window_indices


def test_default_gap_ocp_windows():
    # frame gap 150 (the harness default): step 15, at least 450 // 150 + 1 = 4 frames
    assert ocp_indices("pilot_dominoes_0001", 150, 150, 4).tolist() == [0, 15, 30, 45]
    # collision stops at 15 -> [0, 15], padded at the front with its first frame
    assert ocp_indices("pilot_it2_collision_box_0003", 150, 150, 4).tolist() == [0, 0, 0, 15]
    # a Roll stimulus run by the Collision controller keeps the long window
    assert ocp_indices("pilot_it2_rollingSliding_simple_collision_box_0008", 150, 150, 4).tolist() == [0, 15, 30, 45]


def test_counted_back_from_the_last_frame():
    # step 4: 45, 41, ..., 1 reversed -> starts at 1, not 0
    idx = ocp_indices("towers_0000", 200, 40, 8)
    assert idx.tolist() == list(range(1, 46, 4)) and len(idx) == 12 == required_frames(40, 8)
    short = ocp_indices("collision_0000", 200, 40, 8)
    assert short.tolist() == [3] * 8 + [3, 7, 11, 15]


def test_floor_division_of_the_negative_gap():
    assert harness_step(150) == -15 and harness_step(30) == -3
    assert harness_step(35) == -4  # (-35) // 10, not -(35 // 10)
    idx = ocp_indices("drop_0000", 200, 35, 1)
    # arange(45, -1, -4) has 12 values, 450 // 35 + 1 = 13 -> one pad frame in front
    assert idx.tolist() == [1] + list(range(1, 46, 4))


def test_clipped_to_the_video():
    assert ocp_indices("link_0001", 30, 150, 4).tolist() == [0, 15, 29, 29]


def test_ocd_window_descends_around_contact():
    # arange(65, 19, -15) = 65, 50, 35, 20; the last dropped; padded with the first
    assert ocd_indices(50, 200, 150, 4).tolist() == [65, 65, 50, 35]
    assert ocd_indices(5, 200, 150, 4).tolist() == [20, 20, 5, 0]
    idx = ocd_indices(100, 300, 30, 12)
    assert idx.tolist() == [115] + list(range(115, 72, -3))
    assert np.all(np.diff(idx[1:]) == -3)


def test_window_indices_dispatch_and_errors():
    assert window_indices("ocd", "x", 200, 150, 4, contact_frame=50).tolist() == [65, 65, 50, 35]
    assert window_indices("ocp", "x", 200, 150, 4, collision=True).tolist() == [0, 0, 0, 15]
    with pytest.raises(ValueError, match="contact frame"):
        window_indices("ocd", "x", 200, 150, 4)
    with pytest.raises(ValueError, match="unknown v1.5 task"):
        window_indices("ocx", "x", 200, 150, 4)
    with pytest.raises(ValueError, match="no OCD frame"):
        ocd_indices(50, 200, 470, 1)
