"""The one training loop: a seed fixes the whole run (initial weights, clips, masks, noise)."""
from __future__ import annotations

import torch

from pipelines.config.sections import LatentConfig, ModelConfig, PretrainConfig
from pipelines.toy_videos import moving_shapes
from pipelines.training import train_vdt
from vdt.checkpoint import read_checkpoint

MODEL = ModelConfig(size="VDT-Nano/2", resolution=8, num_frames=4, n_given=2)
PRETRAIN = PretrainConfig(steps=5, batch_size=4, checkpoint_every=5, preview_every=100)


def _train(tmp_path, name: str, seed: int) -> dict:
    clips = moving_shapes(12, 4, 8, radius=1.2, max_speed=1.0, bounce=False, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(1234 + len(name))  # whatever the global RNG holds before, the seed decides
    path = train_vdt(clips, model=MODEL, latent=LatentConfig(), pretrain=PRETRAIN, out_dir=tmp_path / name, seed=seed,
                     progress=False)
    return read_checkpoint(path)["ema"]


def test_same_seed_same_model_other_seed_other_model(tmp_path):
    a, b, c = _train(tmp_path, "a", 0), _train(tmp_path, "bb", 0), _train(tmp_path, "c", 1)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
