"""The v1.5 adapter against the harness's PhysionFeatureExtractor contract, with the shipped VDT-Ti/4 model.

The harness package is not installed; ``StandInExtractor`` is its ABC as physion_evaluator defines it (an
nn.Module and ABC with abstract ``transform`` and ``extract_features``)."""

import pickle
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from physion.datasets import to_model_frames
from pipelines.config.loading import ConfigError
from pipelines.config.sections import LatentConfig
from pipelines.features.vdt_tokens import frame_tokens, pool_grid, time_bins
from pipelines.physion_v15.adapter import (
    CHECKPOINT_ENV,
    IMAGENET_MEAN,
    IMAGENET_STD,
    VDTFeatureExtractor,
    imagenet_normalize,
    imagenet_unnormalize,
)
from pipelines.training.model_factory import load_trained

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "vdt_ti4_physion32.pt"


class StandInExtractor(nn.Module, ABC):
    def __init__(self):
        super().__init__()

    @abstractmethod
    def transform(self):
        """(image transform, frame gap, minimum number of frames)"""

    @abstractmethod
    def extract_features(self, videos):
        """[B, T, C, H, W] ImageNet-normalised -> [B, T, D]"""


class HarnessVDT(VDTFeatureExtractor, StandInExtractor):
    """What a user's extractor module holds: our adapter bound to the harness's ABC."""


@pytest.fixture(scope="module")
def extractor():
    mp = pytest.MonkeyPatch()
    mp.setenv(CHECKPOINT_ENV, str(SHIPPED))
    try:
        yield HarnessVDT().eval()  # built as the harness builds it: no arguments
    finally:
        mp.undo()


def _video(seed: int, frames: int = 12, size: int = 48) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (size, size, 3))
    # a moving bright square over a fixed background: frames differ, as a real clip's do
    out = []
    for t in range(frames):
        f = base.copy()
        f[8:20, 2 + 2 * t : 14 + 2 * t] = (230, 20, 20)
        out.append(f.astype(np.uint8))
    return out


def _ours(frames: list[np.ndarray]) -> torch.Tensor:
    """Our extract stage's per-frame VDT features of the same frames (its config: blocks [-1], step 0, 2x2)."""
    trained = load_trained(SHIPPED, LatentConfig(kind="pixels"))
    x = to_model_frames(np.stack(frames), 32)[None]
    tokens = frame_tokens(trained.model, trained.space.encode(x), [-1], 0)
    return pool_grid(tokens, 2)


def test_contract_and_transform(extractor):
    assert isinstance(extractor, StandInExtractor) and isinstance(extractor, nn.Module)
    transform, gap, min_frames = extractor.transform()
    assert (gap, min_frames) == (40, 8)  # 10 x the model's frame offset 4; its 8-frame window
    assert pickle.loads(pickle.dumps(transform)).resolution == 32  # the harness's DataLoader workers carry it
    images = [Image.fromarray(f) for f in _video(0)]
    x = transform(images)
    assert x.dtype == torch.float32 and x.shape == (12, 3, 32, 32)
    # the harness reshapes the transform's output this way; our output already has that layout
    assert torch.equal(x.view(len(images), 3, *x.shape[-2:]), x)
    # ImageNet statistics: undoing them gives the [-1, 1] frames our datasets make
    ref = to_model_frames(np.stack(_video(0)), 32)
    assert torch.allclose(imagenet_unnormalize(x), ref, atol=1e-5)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    assert torch.allclose(x, ((ref + 1) / 2 - mean) / std, atol=1e-6)


def test_features_equal_our_extract_path(extractor):
    frames = _video(1)
    transform, _, _ = extractor.transform()
    videos = transform([Image.fromarray(f) for f in frames])[None]
    feats = extractor.extract_features(videos)
    assert feats.dtype == torch.float32 and feats.shape == (1, 12, 4 * 128)
    assert extractor.feature_dim == 512
    ours = _ours(frames)
    assert torch.allclose(feats, ours, atol=1e-4, rtol=1e-4)
    # and binned over time as the extract stage's ``vdt`` family does
    assert torch.allclose(time_bins(feats, 4), time_bins(ours, 4), atol=1e-4, rtol=1e-4)
    assert feats.std() > 0.01  # not a constant: the moving square changes the features
    assert not torch.allclose(feats[0, 0], feats[0, -1], atol=1e-3)


def test_batch_independence(extractor):
    transform, _, _ = extractor.transform()
    a = transform([Image.fromarray(f) for f in _video(2)])
    b = transform([Image.fromarray(f) for f in _video(3)])
    both = extractor.extract_features(torch.stack([a, b]))
    alone = torch.cat([extractor.extract_features(a[None]), extractor.extract_features(b[None])])
    assert torch.allclose(both, alone, atol=1e-5)
    assert not torch.allclose(both[0], both[1], atol=1e-3)


def test_larger_frames_are_resized_like_our_datasets(extractor):
    frames = _video(4, size=64)
    # harness-side frames at 64 px, ImageNet-normalised without our transform
    big = imagenet_normalize(to_model_frames(np.stack(frames), 64))[None]
    feats = extractor.extract_features(big)
    assert feats.shape == (1, 12, 512)
    assert torch.allclose(feats, _ours(frames), atol=2e-3, rtol=1e-3)


def test_bad_input_and_missing_checkpoint(extractor, monkeypatch, tmp_path):
    with pytest.raises(ValueError, match=r"\[B, T, 3, H, W\]"):
        extractor.extract_features(torch.zeros(2, 3, 32, 32))
    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    with pytest.raises(ConfigError, match=CHECKPOINT_ENV):
        HarnessVDT()
    with pytest.raises(ConfigError, match="checkpoint file not found"):
        HarnessVDT(tmp_path / "nope.pt")


def test_v15_section_of_the_config_sets_the_features():
    import yaml

    from pipelines.config.loading import validate_config
    from pipelines.config.physion_run import PhysionRunConfig

    raw = yaml.safe_load(torch.load(SHIPPED, weights_only=True)["provenance"]["config"])
    raw["v15"] = {"blocks": [-2, -1], "pool_grid": 1, "frame_gap": 30, "min_frames": 5}
    ex = VDTFeatureExtractor(SHIPPED, validate_config(raw, PhysionRunConfig))
    transform, gap, min_frames = ex.transform()
    assert (gap, min_frames, ex.feature_dim) == (30, 5, 256)
    frames = _video(5, frames=6)
    feats = ex.extract_features(transform([Image.fromarray(f) for f in frames])[None])
    trained = load_trained(SHIPPED, LatentConfig(kind="pixels"))
    tokens = frame_tokens(trained.model, trained.space.encode(to_model_frames(np.stack(frames), 32)[None]), [-2, -1])
    assert torch.allclose(feats, pool_grid(tokens, 1), atol=1e-4, rtol=1e-4)
