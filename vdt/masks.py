"""Unified spatial-temporal mask modeling: which latent positions are given (0) and which to generate (1).

A mask has shape (B, T, H, W) in latent space and is shared by all channels. One model learns every task
below by training on a mixture of them; at sampling time the task is just the mask.

Tasks (names used throughout configs and the CLI):
  predict          the first ``n_given`` frames are given, the rest predicted (in training, ``n_given_range``
                   draws the count per sample, so one model continues from any context length)
  backward         the last ``n_given`` frames are given, the earlier ones generated
  interpolation    every ``interp_stride``-th frame is given, the frames between are generated
  unconditional    nothing is given
  single_frame     one frame is given (random in training; frame 0 = image animation at sampling time)
  random_frames    each frame is independently hidden with probability ``random_frame_p``
  spatial_temporal a rectangular region (about ``block_area`` of each frame) is generated in the middle frames,
                   a few frames at each end are given whole (video in/out-painting, completion)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

# The no-model guesses of a hidden frame from the wholly given ones (the residual targets' reference; vdt.diffusion):
# the nearest given frame, or a linear blend in time of the given frames on each side.
PRIOR_KINDS = ("nearest", "blend")

TEMPORAL_TASKS = ("predict", "backward", "interpolation", "unconditional", "single_frame", "random_frames")
TASKS = TEMPORAL_TASKS + ("spatial_temporal",)

# The official generator: a spatial-temporal block with p = 0.2, otherwise the six temporal modes uniformly.
OFFICIAL_WEIGHTS = {**{name: 0.8 / 6 for name in TEMPORAL_TASKS}, "spatial_temporal": 0.2}


def _randint(low: int, high: int, generator: torch.Generator | None) -> int:
    """Uniform integer in [low, high]."""
    return int(torch.randint(low, high + 1, (1,), generator=generator).item())


@dataclass
class MaskGenerator:
    """Draws one task per sample and builds its mask.

    >>> gen = MaskGenerator(num_frames=16, height=16, width=16, n_given=8)
    >>> mask, tasks = gen(batch=4, generator=torch.Generator().manual_seed(0))   # (4, 16, 16, 16), (4,)
    ``tasks`` holds indices into ``TASKS`` (to log the loss per task).
    """

    num_frames: int
    height: int
    width: int
    n_given: int = 8
    interp_stride: int = 4
    random_frame_p: float = 0.8
    block_area: tuple[float, float] = (0.35, 0.65)
    block_end_frames: tuple[int, int] = (1, 3)
    weights: dict[str, float] = field(default_factory=lambda: dict(OFFICIAL_WEIGHTS))
    n_given_range: tuple[int, int] | None = None  # predict/backward: given-frame count drawn uniformly in [lo, hi]

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(TASKS)
        if unknown:
            raise ValueError(f"unknown mask task(s) {sorted(unknown)}; known: {list(TASKS)}")
        if any(w < 0 for w in self.weights.values()) or sum(self.weights.values()) <= 0:
            raise ValueError(f"mask task weights must be >= 0 and not all zero, got {self.weights}")
        if not 0 < self.n_given < self.num_frames:
            raise ValueError(f"n_given must be in [1, num_frames - 1], got {self.n_given} for {self.num_frames} frames")
        if self.n_given_range is not None:
            lo, hi = self.n_given_range
            if not 0 < lo <= hi < self.num_frames:
                raise ValueError(
                    f"n_given_range must satisfy 1 <= lo <= hi <= num_frames - 1, got {self.n_given_range} "
                    f"for {self.num_frames} frames"
                )
        if self.interp_stride < 2:
            raise ValueError(f"interp_stride must be >= 2, got {self.interp_stride}")
        self._probs = torch.tensor([float(self.weights.get(name, 0.0)) for name in TASKS])

    def __call__(
        self, batch: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        tasks = torch.multinomial(self._probs, batch, replacement=True, generator=generator)
        masks = torch.stack([self.task_mask(TASKS[int(i)], generator) for i in tasks])
        return masks.to(device), tasks.to(device)

    def task_mask(self, task: str, generator: torch.Generator | None = None, frame: int | None = None) -> torch.Tensor:
        """(T, H, W) float mask for one task; random parts are drawn from ``generator``."""
        t, h, w = self.num_frames, self.height, self.width
        mask = torch.ones(t, h, w)
        if task in ("predict", "backward"):
            n = self.n_given if self.n_given_range is None else _randint(*self.n_given_range, generator)
            if task == "predict":
                mask[:n] = 0
            else:
                mask[t - n :] = 0
        elif task == "interpolation":
            mask[:: self.interp_stride] = 0
        elif task == "unconditional":
            pass
        elif task == "single_frame":
            index = _randint(0, t - 1, generator) if frame is None else frame
            mask[index] = 0
        elif task == "random_frames":
            hidden = torch.rand(t, generator=generator) < self.random_frame_p
            mask[~hidden] = 0
        elif task == "spatial_temporal":
            mask = self._block(generator)
        else:
            raise ValueError(f"unknown mask task {task!r}; known: {list(TASKS)}")
        return mask

    def _block(self, generator: torch.Generator | None) -> torch.Tensor:
        t, h, w = self.num_frames, self.height, self.width
        mask = torch.zeros(t, h, w)
        lo, hi = self.block_area
        area = lo + (hi - lo) * float(torch.rand(1, generator=generator))
        aspect = 2 ** (float(torch.rand(1, generator=generator)) - 0.5)  # between 1/sqrt(2) and sqrt(2)
        bh = max(1, min(h, round((area * h * w * aspect) ** 0.5)))
        bw = max(1, min(w, round(area * h * w / bh)))
        top, left = _randint(0, h - bh, generator), _randint(0, w - bw, generator)
        max_end = max(0, (t - 1) // 2)
        start = _randint(min(self.block_end_frames[0], max_end), min(self.block_end_frames[1], max_end), generator)
        end = _randint(min(self.block_end_frames[0], max_end), min(self.block_end_frames[1], max_end), generator)
        mask[start : t - end, top : top + bh, left : left + bw] = 1
        return mask


def task_mask(
    task: str,
    num_frames: int,
    height: int,
    width: int,
    batch: int = 1,
    *,
    n_given: int = 8,
    interp_stride: int = 4,
    frame: int = 0,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """The mask of one named task for sampling, (batch, T, H, W). ``single_frame`` gives ``frame`` (default 0:
    animate an image); random tasks draw from ``generator``."""
    if task not in TASKS:
        raise ValueError(f"unknown mask task {task!r}; known: {list(TASKS)}")
    gen = MaskGenerator(num_frames, height, width, n_given=n_given, interp_stride=interp_stride, weights={task: 1.0})
    return torch.stack([gen.task_mask(task, generator, frame=frame) for _ in range(batch)]).to(device)


def check_mask(mask: torch.Tensor, shape: tuple[int, int, int, int]) -> torch.Tensor:
    """Validate a user-supplied mask against (B, T, H, W); a (T, H, W) mask is broadcast over the batch."""
    mask = torch.as_tensor(mask)
    if mask.dim() == 3:
        mask = mask.unsqueeze(0).expand(shape[0], -1, -1, -1)
    if tuple(mask.shape) != tuple(shape):
        raise ValueError(
            f"mask shape {tuple(mask.shape)} does not match the latent video's (B, T, H, W) = {tuple(shape)}"
        )
    if not torch.all((mask == 0) | (mask == 1)):
        raise ValueError("mask values must be 0 (given) or 1 (generate)")
    return mask.float()


def nearest_given_prior(video: torch.Tensor, mask: torch.Tensor, missing: str = "raise") -> torch.Tensor:
    """(B, T, C, H, W): every frame replaced by the nearest wholly given frame (mask all 0; ties: the earlier), the
    no-model guess of a prediction (copy-last) or interpolation (copy-nearest). A sample without any wholly given
    frame raises, or with ``missing="zeros"`` gets zeros (the mean of normalised latents)."""
    whole = (mask.flatten(2) == 0).all(dim=2)  # (B, T)
    none = ~whole.any(dim=1)
    if missing == "raise" and bool(none.any()):
        raise ValueError("start_from='nearest_given' needs at least one wholly given frame in every sample")
    frames = torch.arange(video.shape[1], device=video.device, dtype=torch.float32)
    # distance to every given frame, + a tiny tie-break towards earlier ones; non-given frames are infinitely far
    dist = (frames[:, None] - frames[None, :]).abs() + frames[None, :] * 1e-6
    dist = torch.where(whole[:, None, :].to(video.device), dist[None], torch.full_like(dist[None], float("inf")))
    source = dist.argmin(dim=2)  # (B, T)
    prior = torch.gather(video, 1, source[:, :, None, None, None].expand_as(video))
    return torch.where(none.view(-1, 1, 1, 1, 1).to(video.device), torch.zeros_like(prior), prior)


def blend_given_prior(video: torch.Tensor, mask: torch.Tensor, missing: str = "raise") -> torch.Tensor:
    """(B, T, C, H, W): every frame between two wholly given frames replaced by their blend, linear in time (frame 2
    between given 0 and 4: 0.5 x frame 0 + 0.5 x frame 4), frames with given frames on one side only by the nearest
    of them (copy-last after the last, copy-first before the first): the no-model guess of an interpolation, and
    copy-last again for a prediction. ``missing`` as for ``nearest_given_prior``."""
    whole = (mask.flatten(2) == 0).all(dim=2).to(video.device)  # (B, T)
    none = ~whole.any(dim=1)
    if missing == "raise" and bool(none.any()):
        raise ValueError("the blended prior needs at least one wholly given frame in every sample")
    b, t = whole.shape
    frames = torch.arange(t, device=video.device).expand(b, t)
    # the given frame at or before each frame (-1: none) and at or after it (t: none)
    before = torch.where(whole, frames, torch.full_like(frames, -1)).cummax(dim=1).values
    after = torch.where(whole, frames, torch.full_like(frames, t)).flip(1).cummin(dim=1).values.flip(1)
    both = (before >= 0) & (after < t)
    before = torch.where(before >= 0, before, after)  # one side only: both ends are that side's frame
    after = torch.where(after < t, after, before)
    span = (after - before).clamp(min=1).float()
    weight = torch.where(both, (frames - before).float() / span, torch.zeros_like(span))  # of the later frame

    def frames_at(index: torch.Tensor) -> torch.Tensor:
        return torch.gather(video, 1, index.clamp(0, t - 1)[:, :, None, None, None].expand_as(video))

    w = weight[:, :, None, None, None].to(video.dtype)
    prior = (1 - w) * frames_at(before) + w * frames_at(after)
    return torch.where(none.view(-1, 1, 1, 1, 1), torch.zeros_like(prior), prior)


def given_frames_prior(
    video: torch.Tensor, mask: torch.Tensor, kind: str = "nearest", missing: str = "raise"
) -> torch.Tensor:
    """The prior of ``kind`` (one of PRIOR_KINDS): ``nearest_given_prior`` or ``blend_given_prior``."""
    if kind == "nearest":
        return nearest_given_prior(video, mask, missing)
    if kind == "blend":
        return blend_given_prior(video, mask, missing)
    raise ValueError(f"unknown prior {kind!r}; choose one of {PRIOR_KINDS}")
