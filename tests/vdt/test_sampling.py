"""High-level sampling on a VDT: task completion keeps given frames, rollout chains windows; checkpoints round-trip."""

import pytest
import torch

from tests.helpers import tiny_vdt
from vdt.checkpoint import CheckpointMismatchError, load_model, save_model
from vdt.diffusion import GaussianDiffusion
from vdt.video_tasks import complete, rollout


@pytest.mark.parametrize(
    "task",
    ["predict", "backward", "interpolation", "single_frame", "random_frames", "spatial_temporal", "unconditional"],
)
def test_complete_keeps_given_positions(task):
    model = tiny_vdt()
    diffusion = GaussianDiffusion.linear(1000).respace(5)
    video = torch.rand(2, 6, 3, 8, 8) * 2 - 1
    g = torch.Generator().manual_seed(0)
    out = complete(model, diffusion, video, task, n_given=2, generator=g, batch_size=1)
    assert out.shape == video.shape and torch.isfinite(out).all()
    from vdt.masks import task_mask

    mask = task_mask(task, 6, 8, 8, 2, n_given=2, generator=torch.Generator().manual_seed(0)).bool()
    given = ~mask.unsqueeze(2).expand_as(video)
    assert torch.equal(out[given], video[given])
    if task != "unconditional":
        assert given.any()
    assert not torch.equal(out[~given], video[~given])


def test_complete_takes_starting_noise_and_a_generator_per_batch():
    from vdt.masks import task_mask

    model = tiny_vdt()
    diffusion = GaussianDiffusion.linear(1000).respace("ddim4")
    video = torch.rand(3, 6, 3, 8, 8) * 2 - 1
    mask = task_mask("predict", 6, 8, 8, 3, n_given=2)
    noise = torch.randn(video.shape, generator=torch.Generator().manual_seed(3))
    batches = []

    def per_batch(rows: range) -> torch.Generator:
        batches.append(rows)
        return torch.Generator().manual_seed(rows.start)

    whole = complete(model, diffusion, video, mask, noise=noise, batch_size=2, generator=per_batch)
    assert batches == [range(0, 2), range(2, 3)]
    # deterministic DDIM: each clip's starting noise alone decides it, whatever its batch
    alone = torch.cat(
        [complete(model, diffusion, video[i : i + 1], mask[i : i + 1], noise=noise[i : i + 1]) for i in range(3)]
    )
    assert torch.allclose(whole, alone, atol=1e-5)
    assert not torch.allclose(whole, complete(model, diffusion, video, mask, noise=-noise), atol=1e-3)
    with pytest.raises(ValueError, match="one generator"):
        complete(model, diffusion, video, "predict", generator=per_batch)
    with pytest.raises(ValueError, match="noise has shape"):
        complete(model, diffusion, video, mask, noise=noise[:2])


def test_rollout_chains_windows_and_is_seeded():
    model = tiny_vdt(frames=6)
    diffusion = GaussianDiffusion.linear(1000).respace(4)
    observed = torch.rand(2, 5, 3, 8, 8) * 2 - 1
    a = rollout(model, diffusion, observed, horizon=7, n_given=4, generator=torch.Generator().manual_seed(0))
    b = rollout(model, diffusion, observed, horizon=7, n_given=4, generator=torch.Generator().manual_seed(0))
    assert a.shape == (2, 7, 3, 8, 8) and torch.equal(a, b)
    # the first window is exactly a "predict" completion from the last 4 observed frames
    first = complete(
        model,
        diffusion,
        torch.cat([observed[:, -4:], torch.zeros(2, 2, 3, 8, 8)], 1),
        "predict",
        n_given=4,
        generator=torch.Generator().manual_seed(0),
    )
    torch.testing.assert_close(a[:, :2], first[:, 4:])
    with pytest.raises(ValueError, match="at least n_given"):
        rollout(model, diffusion, observed[:, :2], horizon=3, n_given=4)
    with pytest.raises(ValueError, match="n_given must be"):
        rollout(model, diffusion, observed, horizon=3, n_given=6)


def test_own_checkpoint_round_trip(tmp_path):
    model = tiny_vdt()
    ema = tiny_vdt(seed=1)
    path = save_model(tmp_path / "ckpt" / "model.pt", model, ema=ema, extra={"step": 12})
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]  # no temp file left behind
    x, t = torch.randn(1, 6, 3, 8, 8), torch.tensor([9])
    loaded = load_model(path).eval()
    torch.testing.assert_close(loaded(x, t), ema(x, t))  # EMA weights preferred
    torch.testing.assert_close(load_model(path, prefer_ema=False).eval()(x, t), model(x, t))
    assert loaded.config == model.config
    raw = tmp_path / "raw.pt"
    torch.save(model.state_dict(), raw)
    with pytest.raises(CheckpointMismatchError, match="no 'config'"):
        load_model(raw)
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_model(tmp_path / "nope.pt")
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="garbage.pt"):
        load_model(tmp_path / "garbage.pt")
