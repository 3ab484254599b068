"""The model against a no-model baseline on the same generated frames: the difference of their mean scores with a
paired 95% percentile-bootstrap interval that resamples whole videos.

Why videos and not frames: the frames of one clip, and the clips drawn from one video, move together (a scene at
rest favours copying in every one of its frames), so treating them as independent would make the interval far too
narrow. Each bootstrap draw takes videos with replacement and scores model and baseline on the same frames of
those videos; the statistic is the frame-weighted mean difference, the same mean the results table prints.
"""

from __future__ import annotations

import numpy as np
import scipy.stats
import torch


def paired_difference(
    model: dict[str, torch.Tensor], baseline: dict[str, torch.Tensor], videos: torch.Tensor, seed: int = 0
) -> dict:
    """Per metric: mean over frames of ``model`` minus ``baseline`` ({metric: (n,) per-frame values}, the same
    frames in the same order), with its 95% interval over the videos ``videos`` (n,) the frames come from.
    Returns {metric: {"difference", "low", "high"}, "videos": count}; the interval is NaN with fewer than two
    videos, where resampling says nothing."""
    ids = np.unique(videos.numpy(), return_inverse=True)[1]
    count = int(ids.max()) + 1
    frames = np.bincount(ids, minlength=count).astype(np.float64)
    out: dict = {"videos": count}
    for name, values in model.items():
        if values.shape != baseline[name].shape or values.shape != videos.shape:
            raise ValueError(
                f"{name}: model {tuple(values.shape)}, baseline {tuple(baseline[name].shape)} and videos "
                f"{tuple(videos.shape)} must be the same frames"
            )
        diff = (values.double() - baseline[name].double()).numpy()
        sums = np.bincount(ids, weights=diff, minlength=count)  # per video: the summed difference over its frames
        low = high = float("nan")
        if count >= 2:
            ci = scipy.stats.bootstrap(
                (sums, frames),
                lambda s, n, axis=-1: s.sum(axis=axis) / n.sum(axis=axis),
                paired=True,
                vectorized=True,
                n_resamples=2000,
                method="percentile",
                rng=np.random.default_rng(seed),
            ).confidence_interval
            low, high = float(ci.low), float(ci.high)
        out[name] = {"difference": float(diff.mean()), "low": low, "high": high}
    return out
