"""Moving-shape videos with constant velocities: a distribution a tiny VDT learns in minutes on a CPU, used by the
quickstart demo, the tests that check learning really happens, and the benchmarks."""

from __future__ import annotations

import torch

PALETTE = torch.tensor([[1.0, 0.1, 0.1], [1.0, 0.9, 0.1], [0.2, 0.5, 1.0], [0.2, 0.9, 0.3]])


def moving_shapes(
    batch: int,
    frames: int,
    size: int,
    *,
    shapes: int = 1,
    radius: float = 2.0,
    max_speed: float = 1.5,
    bounce: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """(batch, frames, 3, size, size) in [-1, 1]: ``shapes`` soft discs on black, each with its own colour and a
    constant velocity (speed between half and all of ``max_speed`` pixels per frame). With ``bounce`` they reflect at
    the borders; without, start points are drawn so that the whole straight path stays in view (the future is then
    a deterministic function of two frames). Positions are continuous, so motion is sub-pixel."""
    g = generator
    lo, hi = radius, size - 1 - radius
    angle = torch.rand(batch, shapes, generator=g) * 2 * torch.pi
    speed = max_speed * (0.5 + 0.5 * torch.rand(batch, shapes, generator=g))
    vel = torch.stack([angle.cos(), angle.sin()], dim=-1) * speed[..., None]
    u = torch.rand(batch, shapes, 2, generator=g)
    if bounce:
        pos = lo + u * (hi - lo)
    else:
        travel = (vel * (frames - 1)).clamp(-(hi - lo), hi - lo)
        vel = travel / max(frames - 1, 1)
        start_lo = lo - travel.clamp(max=0)
        start_hi = hi - travel.clamp(min=0)
        pos = start_lo + u * (start_hi - start_lo)
    colours = PALETTE[torch.arange(shapes) % len(PALETTE)]  # (shapes, 3)
    ys, xs = torch.meshgrid(
        torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32), indexing="ij"
    )
    video = torch.zeros(batch, frames, 3, size, size)
    for f in range(frames):
        dist2 = (xs - pos[..., 0, None, None]) ** 2 + (ys - pos[..., 1, None, None]) ** 2  # (B, S, H, W)
        alpha = torch.sigmoid((radius**2 - dist2) / radius)  # soft edge: a smooth target for the model
        frame = (alpha[:, :, None] * colours[None, :, :, None, None]).amax(dim=1)
        video[:, f] = frame
        pos = pos + vel
        # reflect at the borders so shapes stay in view
        over, under = pos > hi, pos < lo
        pos = torch.where(over, 2 * hi - pos, torch.where(under, 2 * lo - pos, pos))
        vel = torch.where(over | under, -vel, vel)
    return video * 2 - 1
