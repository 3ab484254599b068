"""A TorchScript video feature network (I3D for FVD) behind one input convention, so real and generated clips are
always preprocessed the same way.

Our clips are (B, T, 3, H, W) in [-1, 1]. Before the call they are resized frame by frame to ``resize`` x
``resize`` (bilinear, antialiased; the benchmark's frames are square, so no crop is needed), mapped to the
configured value range ([-1, 1], [0, 1] or [0, 255]) and laid out as (B, 3, T, H, W). The network must return
(B, F) features; anything else is an error naming the file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from pipelines.genbench.config import FeatureNetConfig


def to_network_input(clips: torch.Tensor, input_range: str, resize: int | None) -> torch.Tensor:
    """(B, T, 3, H, W) in [-1, 1] -> (B, 3, T, S, S) in ``input_range``."""
    b, t, c, h, w = clips.shape
    x = clips.float()
    if resize is not None and (h, w) != (resize, resize):
        x = F.interpolate(
            x.reshape(b * t, c, h, w), size=(resize, resize), mode="bilinear", antialias=True, align_corners=False
        ).reshape(b, t, c, resize, resize)
    x = x.clamp(-1, 1)
    if input_range == "0,1":
        x = (x + 1) / 2
    elif input_range == "0,255":
        x = (x + 1) * 127.5
    elif input_range != "-1,1":
        raise ValueError(f"unknown input_range {input_range!r}")
    return x.permute(0, 2, 1, 3, 4).contiguous()


class FeatureNet:
    """Loads the TorchScript file once; ``features(clips)`` -> (B, F) float64 numpy."""

    def __init__(self, config: FeatureNetConfig, device: torch.device | str = "cpu"):
        self.config = config
        self.device = torch.device(device)
        path = Path(config.path)
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: feature network weights not found (bench.features.path); they are never downloaded"
            )
        try:
            with warnings.catch_warnings():  # torch deprecates TorchScript, but it is the published I3D's format
                warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*torch.jit.load.*")
                self.net = torch.jit.load(str(path), map_location=self.device).eval()
        except Exception as err:  # torch raises several types here; the user needs to know which file is bad
            raise ValueError(f"{path}: not a loadable TorchScript file ({type(err).__name__}: {err})") from err

    @property
    def label(self) -> str:
        return self.config.label

    @torch.no_grad()
    def features(self, clips: torch.Tensor) -> np.ndarray:
        """(B, T, 3, H, W) in [-1, 1] -> (B, F)."""
        cfg = self.config
        if clips.dim() != 5 or clips.shape[1] != cfg.frames or clips.shape[2] != 3:
            raise ValueError(f"{cfg.network} expects (B, {cfg.frames}, 3, H, W) clips, got {tuple(clips.shape)}")
        out = []
        for chunk in clips.split(cfg.batch_size):
            x = to_network_input(chunk, cfg.input_range, cfg.resize).to(self.device)
            y = self.net(x, **cfg.call_kwargs)
            if not isinstance(y, torch.Tensor) or y.dim() != 2 or y.shape[0] != chunk.shape[0]:
                shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
                raise ValueError(
                    f"{cfg.path}: the network returned {shape} for {chunk.shape[0]} clips; "
                    "expected (B, F) features (check bench.features.call_kwargs)"
                )
            out.append(y.double().cpu().numpy())
        return np.concatenate(out)
