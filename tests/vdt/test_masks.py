"""Unified mask modeling: every task marks the right positions; seeded draws reproduce."""

import pytest
import torch

from vdt.masks import OFFICIAL_WEIGHTS, TASKS, MaskGenerator, check_mask, task_mask

T, H, W = 16, 6, 6


def given_frames(mask):
    """Indices of frames that are entirely given (mask 0 everywhere)."""
    return [i for i in range(mask.shape[0]) if mask[i].sum() == 0]


def test_temporal_tasks_mark_the_right_frames():
    assert given_frames(task_mask("predict", T, H, W, n_given=8)[0]) == list(range(8))
    assert given_frames(task_mask("predict", T, H, W, n_given=3)[0]) == [0, 1, 2]
    assert given_frames(task_mask("backward", T, H, W, n_given=5)[0]) == list(range(11, 16))
    assert given_frames(task_mask("interpolation", T, H, W)[0]) == [0, 4, 8, 12]
    assert given_frames(task_mask("interpolation", T, H, W, interp_stride=3)[0]) == [0, 3, 6, 9, 12, 15]
    assert given_frames(task_mask("unconditional", T, H, W)[0]) == []
    assert given_frames(task_mask("single_frame", T, H, W)[0]) == [0]  # image animation
    assert given_frames(task_mask("single_frame", T, H, W, frame=9)[0]) == [9]
    for name in TASKS:
        m = task_mask(name, T, H, W, batch=2, generator=torch.Generator().manual_seed(3))
        assert m.shape == (2, T, H, W) and set(m.unique().tolist()) <= {0.0, 1.0}
        # frames are either whole (temporal tasks) or, for spatial_temporal, a block
        if name != "spatial_temporal":
            per_frame = m[0].flatten(1)
            assert torch.all((per_frame.min(1).values == per_frame.max(1).values))


def test_random_frames_rate_and_spatial_block_shape():
    gen = MaskGenerator(T, H, W, weights={"random_frames": 1.0}, random_frame_p=0.8)
    g = torch.Generator().manual_seed(0)
    masks, _ = gen(400, generator=g)
    hidden_rate = masks[:, :, 0, 0].mean().item()
    assert 0.76 < hidden_rate < 0.84

    block = MaskGenerator(T, 16, 16, weights={"spatial_temporal": 1.0}, block_area=(0.4, 0.6), block_end_frames=(1, 3))
    for _ in range(20):
        m = block.task_mask("spatial_temporal", g)
        generated = m.sum(dim=(1, 2))
        frames_with_block = (generated > 0).nonzero().flatten()
        start, end = int(frames_with_block[0]), int(frames_with_block[-1])
        assert 1 <= start <= 3 and 1 <= T - 1 - end <= 3  # a few whole frames given at each end
        area = generated[start] / (16 * 16)
        assert 0.3 < area < 0.7
        assert torch.all(generated[start : end + 1] == generated[start])  # the same block in every middle frame
        ys, xs = m[start].nonzero(as_tuple=True)
        assert m[start].sum() == (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)  # a rectangle


def test_seeded_generation_reproduces_and_follows_weights():
    gen = MaskGenerator(T, H, W, n_given=4)
    a, ta = gen(32, generator=torch.Generator().manual_seed(7))
    b, tb = gen(32, generator=torch.Generator().manual_seed(7))
    c, _ = gen(32, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and torch.equal(ta, tb) and not torch.equal(a, c)
    _, tasks = gen(4000, generator=torch.Generator().manual_seed(0))
    freq = torch.bincount(tasks, minlength=len(TASKS)).float() / 4000
    expected = torch.tensor([OFFICIAL_WEIGHTS[n] for n in TASKS])
    assert torch.allclose(freq, expected, atol=0.03)
    only = MaskGenerator(T, H, W, weights={"predict": 2.0, "backward": 0.0})
    _, tasks = only(50, generator=torch.Generator().manual_seed(0))
    assert set(tasks.tolist()) == {TASKS.index("predict")}


def test_invalid_settings_and_user_masks():
    with pytest.raises(ValueError, match="unknown mask task"):
        MaskGenerator(T, H, W, weights={"teleport": 1.0})
    with pytest.raises(ValueError, match="n_given"):
        MaskGenerator(T, H, W, n_given=16)
    with pytest.raises(ValueError, match="unknown mask task"):
        task_mask("teleport", T, H, W)
    user = torch.zeros(T, H, W)
    user[5:, :3] = 1
    assert check_mask(user, (2, T, H, W)).shape == (2, T, H, W)
    with pytest.raises(ValueError, match="does not match"):
        check_mask(user, (2, T, H + 1, W))
    with pytest.raises(ValueError, match="0 \\(given\\) or 1"):
        check_mask(user * 0.5, (1, T, H, W))
