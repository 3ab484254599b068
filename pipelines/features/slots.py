"""Object-centric slots over a grid of VDT tokens: Slot Attention (Locatello et al. 2020) trained as an
autoencoder on the tokens themselves, so no labels and no pixels are needed.

The encoder lifts each token (plus where it sits) to a feature; slot attention groups the (h * w) features
into K slots by letting slots compete for tokens (softmax over slots); a spatial-broadcast decoder paints each
slot back over the grid with an alpha logit, and the alphas (softmax over slots) mix the K guesses into one
reconstructed token. Entities for the relational readout are each slot plus the centroid of its attention.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn
from tqdm.auto import tqdm

from pipelines.training.schedule import warmup_schedule
from vdt.io import save_atomic


def grid_coordinates(h: int, w: int) -> torch.Tensor:
    """(h * w, 2) cell centres (x, y) in (0, 1), row-major: x grows along the width, y along the height."""
    ys = (torch.arange(h, dtype=torch.float32) + 0.5) / h
    xs = (torch.arange(w, dtype=torch.float32) + 0.5) / w
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy], dim=-1).reshape(h * w, 2)


class GridPositionEmbedding(nn.Module):
    """Additive 2-D position embedding: a learned linear map of (x, y, 1 - x, 1 - y) per cell, as in Slot
    Attention; the four ramps let a linear layer tell every border apart."""

    def __init__(self, grid: tuple[int, int], dim: int):
        super().__init__()
        xy = grid_coordinates(*grid)
        self.register_buffer("ramps", torch.cat([xy, 1 - xy], dim=-1), persistent=False)  # (N, 4)
        self.proj = nn.Linear(4, dim)

    def forward(self) -> torch.Tensor:
        """-> (N, dim)."""
        return self.proj(self.ramps)


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers of the given widths with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


# ----------------------------------------------------------------------------------------------------------------
# Slot attention
# ----------------------------------------------------------------------------------------------------------------


class SlotAttention(nn.Module):
    """inputs (B, N, in_dim) -> slots (B, K, slot_dim) and attention (B, K, N) of the last iteration.

    Slots start as samples of a learned Gaussian (mu, sigma); each iteration the slots query the inputs, the
    softmax runs over SLOTS (slots compete for each input), each slot takes the attention-weighted mean of the
    values, and a GRU plus a residual MLP update it. Pass ``generator`` for a reproducible initial draw, and
    ``shared_noise=True`` at extraction (see ``initial_slots``).
    """

    def __init__(
        self,
        in_dim: int,
        num_slots: int,
        slot_dim: int,
        iters: int = 3,
        mlp_hidden: int | None = None,
        eps: float = 1e-8,
    ):
        super().__init__()
        self.num_slots, self.slot_dim, self.iters, self.eps = num_slots, slot_dim, iters, eps
        # unit initial spread: slots must start different enough for the competition to break their symmetry
        self.mu = nn.Parameter(torch.randn(1, 1, slot_dim) * slot_dim**-0.5)
        self.log_sigma = nn.Parameter(torch.zeros(1, 1, slot_dim))
        self.norm_inputs = nn.LayerNorm(in_dim)
        self.norm_slots, self.norm_mlp = nn.LayerNorm(slot_dim), nn.LayerNorm(slot_dim)
        self.to_q = nn.Linear(slot_dim, slot_dim, bias=False)
        self.to_k = nn.Linear(in_dim, slot_dim, bias=False)
        self.to_v = nn.Linear(in_dim, slot_dim, bias=False)
        for layer in (self.to_q, self.to_k, self.to_v):
            # Glorot init (as the original): torch's default gives dot products ~3x smaller, the softmax over
            # slots starts flat and training settles in a collapse where every slot attends everywhere.
            nn.init.xavier_uniform_(layer.weight)
        self.gru = nn.GRUCell(slot_dim, slot_dim)
        self.mlp = mlp([slot_dim, mlp_hidden or 2 * slot_dim, slot_dim])

    def initial_slots(self, batch: int, generator: torch.Generator | None = None, shared: bool = False) -> torch.Tensor:
        """(batch, K, slot_dim) samples of the learned Gaussian. ``shared``: ONE noise draw for the whole batch, so
        at extraction a frame's slots do not depend on which batch or position it was encoded in."""
        noise = torch.randn(1 if shared else batch, self.num_slots, self.slot_dim, generator=generator)
        return self.mu + self.log_sigma.exp() * noise.to(self.mu.device).expand(batch, -1, -1)

    def forward(
        self, inputs: torch.Tensor, generator: torch.Generator | None = None, shared_noise: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        b = inputs.shape[0]
        x = self.norm_inputs(inputs)
        k, v = self.to_k(x), self.to_v(x)  # (B, N, S)
        slots = self.initial_slots(b, generator, shared_noise)
        scale = self.slot_dim**-0.5
        for _ in range(self.iters):
            q = self.to_q(self.norm_slots(slots)) * scale  # (B, K, S)
            attn = torch.softmax(q @ k.transpose(1, 2), dim=1) + self.eps  # (B, K, N), softmax over slots
            weights = attn / attn.sum(dim=2, keepdim=True)  # weighted mean over inputs
            updates = weights @ v  # (B, K, S)
            slots = self.gru(updates.flatten(0, 1), slots.flatten(0, 1)).reshape(b, -1, self.slot_dim)
            slots = slots + self.mlp(self.norm_mlp(slots))
        return slots, attn


# ----------------------------------------------------------------------------------------------------------------
# Autoencoder over token grids
# ----------------------------------------------------------------------------------------------------------------


class SlotAutoencoder(nn.Module):
    """Token grids (B, h, w, D) -> slots (B, K, slot_dim) -> reconstructed standardised tokens (B, h, w, D).

    Tokens are standardised per channel with the training statistics held in the buffers ``token_mean`` /
    ``token_std`` (set by ``train_slot_autoencoder``), so the loss weighs every channel alike.
    """

    def __init__(
        self,
        in_dim: int,
        grid: tuple[int, int],
        num_slots: int = 6,
        slot_dim: int = 64,
        iters: int = 3,
        hidden: int = 128,
    ):
        super().__init__()
        self.config = {
            "in_dim": in_dim,
            "grid": tuple(grid),
            "num_slots": num_slots,
            "slot_dim": slot_dim,
            "iters": iters,
            "hidden": hidden,
        }
        self.grid = tuple(grid)
        self.register_buffer("token_mean", torch.zeros(in_dim))
        self.register_buffer("token_std", torch.ones(in_dim))
        self.register_buffer("coords", grid_coordinates(*grid), persistent=False)  # (N, 2), for centroids
        self.encoder = nn.Sequential(nn.LayerNorm(in_dim), mlp([in_dim, hidden, hidden]))
        self.enc_pos = GridPositionEmbedding(grid, hidden)
        self.enc_out = nn.Sequential(nn.LayerNorm(hidden), mlp([hidden, hidden, hidden]))
        self.slot_attention = SlotAttention(hidden, num_slots, slot_dim, iters)
        self.dec_pos = GridPositionEmbedding(grid, slot_dim)
        self.decoder = mlp([slot_dim, hidden, hidden, in_dim + 1])

    def standardise(self, tokens: torch.Tensor) -> torch.Tensor:
        return (tokens - self.token_mean) / self.token_std

    def encode(
        self, tokens: torch.Tensor, generator: torch.Generator | None = None, shared_noise: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """tokens (B, h, w, D) raw -> slots (B, K, slot_dim), attention (B, K, h * w) (softmax over slots)."""
        b, h, w, d = tokens.shape
        if (h, w) != self.grid or d != self.config["in_dim"]:
            raise ValueError(
                f"expected tokens (B, {self.grid[0]}, {self.grid[1]}, {self.config['in_dim']}), "
                f"got {tuple(tokens.shape)}"
            )
        x = self.encoder(self.standardise(tokens).reshape(b, h * w, d)) + self.enc_pos()
        return self.slot_attention(self.enc_out(x), generator, shared_noise)

    def decode(self, slots: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """slots (B, K, S) -> reconstruction (B, h, w, D) (standardised units), alphas (B, K, h * w)."""
        b = slots.shape[0]
        h, w = self.grid
        out = self.decoder(slots[:, :, None, :] + self.dec_pos())  # spatial broadcast: (B, K, N, D + 1)
        tokens, alpha = out[..., :-1], torch.softmax(out[..., -1], dim=1)  # alphas compete over slots
        recon = (alpha[..., None] * tokens).sum(dim=1)  # (B, N, D)
        return recon.reshape(b, h, w, -1), alpha

    def forward(
        self, tokens: torch.Tensor, generator: torch.Generator | None = None, shared_noise: bool = False
    ) -> dict[str, torch.Tensor]:
        """tokens (B, h, w, D) -> dict(slots, attn, recon, alpha, loss) with loss = MSE to the standardised tokens."""
        slots, attn = self.encode(tokens, generator, shared_noise)
        recon, alpha = self.decode(slots)
        loss = F.mse_loss(recon, self.standardise(tokens))
        return {"slots": slots, "attn": attn, "recon": recon, "alpha": alpha, "loss": loss}

    def centroids(self, attn: torch.Tensor) -> torch.Tensor:
        """attention (B, K, N) -> (B, K, 2): each slot's attention-weighted mean cell centre (x, y) in (0, 1)."""
        weights = attn / attn.sum(dim=2, keepdim=True)
        return weights @ self.coords

    # -- checkpoints: constructor args + weights in one dict --------------------------------------------------------
    def checkpoint(self) -> dict:
        return {"config": dict(self.config), "state_dict": self.state_dict()}

    @classmethod
    def from_checkpoint(cls, ckpt: dict) -> "SlotAutoencoder":
        config = dict(ckpt["config"])
        config["grid"] = tuple(config["grid"])
        model = cls(**config)
        model.load_state_dict(ckpt["state_dict"])
        return model.eval()


def save_slot_autoencoder(model: SlotAutoencoder, path: str | Path) -> Path:
    """Write ``model.checkpoint()`` to ``path`` atomically."""
    return save_atomic(model.checkpoint(), path)


def load_slot_autoencoder(path: str | Path, map_location: str | torch.device = "cpu") -> SlotAutoencoder:
    """Rebuild a ``SlotAutoencoder`` (eval mode) from a file written by ``save_slot_autoencoder``."""
    return SlotAutoencoder.from_checkpoint(torch.load(path, map_location=map_location, weights_only=True))


# ----------------------------------------------------------------------------------------------------------------
# Training and extraction
# ----------------------------------------------------------------------------------------------------------------


def train_slot_autoencoder(
    tokens,
    *,
    num_slots: int = 6,
    slot_dim: int = 64,
    iters: int = 3,
    steps: int = 300,
    batch_size: int = 64,
    lr: float = 4e-4,
    seed: int = 0,
    hidden: int = 128,
    warmup: float = 0.1,
    progress: bool = True,
    device: str | torch.device = "cpu",
) -> SlotAutoencoder:
    """Train a ``SlotAutoencoder`` on ``tokens`` (M, h, w, D), one frame's token grid per row.

    Adam with a linear lr warmup over the first ``warmup`` fraction of the steps (as the original: the attention
    is fragile while the encoder is still random), then cosine decay; gradient norm clipped at 1. Random batches
    and slot-init noise come from a generator seeded with ``seed``.
    ``tokens`` stay where they are (CPU); batches move to ``device``, where the returned model lives. The model
    is in eval mode; its ``train_losses`` attribute holds the loss per step.
    """
    tokens = torch.as_tensor(tokens, dtype=torch.float32)
    if tokens.ndim != 4:
        raise ValueError(f"tokens must be (M, h, w, D), got shape {tuple(tokens.shape)}")
    if not torch.isfinite(tokens).all():
        raise ValueError("tokens contain NaN or inf")
    m, h, w, d = tokens.shape
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = SlotAutoencoder(d, (h, w), num_slots, slot_dim, iters, hidden)
    flat = tokens.reshape(-1, d)
    model.token_mean.copy_(flat.mean(0))
    model.token_std.copy_(flat.std(0).clamp_min(1e-6))  # constant channels stay finite
    model.to(device)

    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = warmup_schedule(opt, max(1, int(warmup * steps)), steps, "cosine")
    model.train()
    losses = []
    bar = tqdm(range(steps), desc="slot autoencoder", disable=not progress)
    for _ in bar:
        batch = tokens[torch.randint(0, m, (min(batch_size, m),), generator=gen)].to(device)
        loss = model(batch, generator=gen)["loss"]
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{losses[-1]:.4f}", refresh=False)
    model.train_losses = losses
    return model.eval()


@torch.no_grad()
def reconstruction_error(model: SlotAutoencoder, tokens, batch_size: int = 256, seed: int = 0) -> float:
    """Mean squared reconstruction error of ``tokens`` (M, h, w, D) in standardised units (predicting the
    training mean token scores about 1 on training-like data)."""
    model.eval()
    tokens = torch.as_tensor(tokens, dtype=torch.float32)
    total = 0.0
    for i in range(0, len(tokens), batch_size):
        batch = tokens[i : i + batch_size].to(model.token_mean.device)
        out = model(batch, generator=torch.Generator().manual_seed(seed), shared_noise=True)
        total += out["loss"].item() * batch.numel()
    return total / tokens.numel()


@torch.no_grad()
def encode_slots(
    model: SlotAutoencoder, tokens, batch_size: int = 256, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """tokens (B, T, h, w, D) -> slots (B, T, K, slot_dim), centroids (B, T, K, 2) with (x, y) in [0, 1].

    Eval mode, no grad, batches on the model's device, results on the CPU; the slot initialisation is one fixed
    draw from ``seed``, so the same frame gives the same slots in any batch. ``slot_entities`` concatenates the
    two for the relational readout.
    """
    model.eval()
    tokens = torch.as_tensor(tokens, dtype=torch.float32)
    if tokens.ndim != 5:
        raise ValueError(f"tokens must be (B, T, h, w, D), got shape {tuple(tokens.shape)}")
    b, t = tokens.shape[:2]
    frames = rearrange(tokens, "b t h w d -> (b t) h w d")
    slots, cents = [], []
    for i in range(0, len(frames), batch_size):
        batch = frames[i : i + batch_size].to(model.token_mean.device)
        s, attn = model.encode(batch, torch.Generator().manual_seed(seed), shared_noise=True)
        slots.append(s.cpu())
        cents.append(model.centroids(attn).cpu())
    k, s_dim = model.config["num_slots"], model.config["slot_dim"]
    if not slots:
        return torch.zeros(b, t, k, s_dim), torch.zeros(b, t, k, 2)
    per_frame = "(b t) k d -> b t k d"
    return rearrange(torch.cat(slots), per_frame, b=b), rearrange(torch.cat(cents), per_frame, b=b)


def slot_entities(model: SlotAutoencoder, tokens, batch_size: int = 256, seed: int = 0) -> torch.Tensor:
    """tokens (B, T, h, w, D) -> entities (B, T, K, slot_dim + 2): each slot followed by its centroid (x, y)."""
    slots, cents = encode_slots(model, tokens, batch_size, seed)
    return torch.cat([slots, cents], dim=-1)
