"""The SlotFormer-style relational readout: a pair MLP over every ordered pair of entities, max over pairs,
a linear logit per frame, max over time.

Contact is a relation between two objects at one moment, so the readout looks at pairs, and the two maxima
let one close pair at one frame decide the trial. Unlike SlotFormer we pick the checkpoint (epoch) and the
decision threshold on a VALIDATION split carved out of the readout data (``split_validation``; the stage keeps
at least 30% of the readout trials there); the test set is never seen by ``fit_relational_readout``.
Readout splits are small (tens of trials), so minibatches are sized to the data and the epochs stretched to a
minimum number of optimiser steps; otherwise a batch of 64 over 26 trials makes one step per epoch and the model
never leaves its initialisation.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn


class RelationalReadout(nn.Module):
    """entities (B, T, K, d) -> logits (B,).

    Per frame, each ordered pair (i, j), i != j: [e_i, e_j, |e_i - e_j|] -> Linear(3d, hidden) -> ReLU ->
    Linear(hidden, hidden) -> ReLU; max over the K(K-1) pairs -> Linear(hidden, 1); max over the T frames. The
    absolute difference hands the pair layer each feature's gap directly (how far apart, in position or in
    appearance), as relational models feed relative features: with a few dozen readout trials a pair MLP over
    [x_i, x_j] alone memorises them first (on the 30-trial test task of tests/pipelines/test_readout_models.py:
    0.57 held-out accuracy without the gap term, 0.80 with it). The second pair layer lets the pair code be a
    nonlinear function of both entities (e.g. "closer than r") before the max.
    """

    def __init__(self, entity_dim: int, hidden: int = 64):
        super().__init__()
        self.entity_dim, self.hidden = entity_dim, hidden
        self.first = nn.Linear(3 * entity_dim, hidden)
        self.pair = nn.Sequential(nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, 1)

    def forward(self, entities: torch.Tensor) -> torch.Tensor:
        b, t, k, d = entities.shape
        if d != self.entity_dim:
            raise ValueError(f"expected entity_dim {self.entity_dim}, got entities of shape {tuple(entities.shape)}")
        if k < 2:
            raise ValueError(f"a relational readout needs at least 2 entities per frame, got K={k}")
        off_diag = ~torch.eye(k, dtype=torch.bool, device=entities.device)
        # Linear([e_i, e_j, g_ij]) = W_a e_i + W_b e_j + W_g g_ij + c: project each entity once, add by broadcast.
        w_a, w_b, w_g = self.first.weight[:, :d], self.first.weight[:, d : 2 * d], self.first.weight[:, 2 * d :]
        left = entities @ w_a.T + self.first.bias  # (B, T, K, H)
        right = entities @ w_b.T  # (B, T, K, H)
        gaps = (entities[:, :, :, None] - entities[:, :, None, :])[:, :, off_diag].abs()  # (B, T, K(K-1), d)
        pairs = (left[:, :, :, None] + right[:, :, None, :])[:, :, off_diag] + gaps @ w_g.T  # (B, T, K(K-1), H)
        per_frame = self.head(self.pair(pairs).amax(dim=2)).squeeze(-1)  # (B, T)
        return per_frame.amax(dim=1)


# ----------------------------------------------------------------------------------------------------------------
# Fitting with validation-only model selection
# ----------------------------------------------------------------------------------------------------------------


def split_validation(y, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split of trial indices: ``round(fraction * n_c)`` of each class c (at least 1 when the class has
    2 or more trials) go to validation. Returns sorted (train_idx, val_idx)."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}")
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must lie in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    val = []
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        n_val = int(round(fraction * len(members)))
        if len(members) >= 2:
            n_val = min(max(n_val, 1), len(members) - 1)  # every class on both sides where possible
        val.append(members[:n_val])
    val_idx = np.sort(np.concatenate(val)) if val else np.zeros(0, dtype=np.int64)
    train_idx = np.setdiff1d(np.arange(len(y)), val_idx)
    return train_idx, val_idx


def best_threshold(proba: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The threshold t (predict 1 where proba > t) that maximises accuracy on (proba, y); ties -> closest to 0.5.

    Candidates: 0.5, 0 and 1 (all-positive / all-negative), and midpoints between consecutive distinct
    probabilities, which realise every distinct split of the sorted trials. Returns (threshold, accuracy).
    """
    proba, y = np.asarray(proba, dtype=np.float64), np.asarray(y)
    levels = np.unique(proba)
    candidates = np.unique(np.concatenate([[0.0, 0.5, 1.0], (levels[1:] + levels[:-1]) / 2]))
    acc = ((proba[None, :] > candidates[:, None]) == (y[None, :] == 1)).mean(axis=1)  # (C,)
    best = np.flatnonzero(acc == acc.max())
    pick = best[np.argmin(np.abs(candidates[best] - 0.5))]
    return float(candidates[pick]), float(acc[pick])


@dataclass
class RelationalFit:
    """A fitted relational readout with the training-data standardisation and the validation-chosen threshold."""

    model: RelationalReadout
    mean: torch.Tensor  # (d,) per-feature mean of the training entities
    std: torch.Tensor  # (d,)
    threshold: float
    val_accuracy: float  # at ``threshold``, for the selected epoch
    best_epoch: int  # 1-based: the weights after this many passes over the training data
    val_history: list[float] = field(default_factory=list)  # best-threshold validation accuracy per epoch
    val_loss: list[float] = field(default_factory=list)  # validation BCE per epoch (breaks accuracy ties)
    train_loss: list[float] = field(default_factory=list)  # mean training BCE per epoch
    config: dict = field(default_factory=dict)

    def predict_proba(self, entities, batch_size: int = 64) -> np.ndarray:
        """(n, T, K, d) -> (n,) probability of class 1."""
        e = (torch.as_tensor(np.asarray(entities), dtype=torch.float32) - self.mean) / self.std
        return _probabilities(self.model, e, batch_size)

    def predict(self, entities, batch_size: int = 64) -> np.ndarray:
        """(n, T, K, d) -> (n,) labels in {0, 1}, thresholded at the validation-chosen ``threshold``."""
        return self.proba_and_labels(entities, batch_size)[1]

    def proba_and_labels(self, entities, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """(n, T, K, d) -> ``predict_proba`` and ``predict`` from one pass of the model."""
        proba = self.predict_proba(entities, batch_size)
        return proba, (proba > self.threshold).astype(np.int64)

    def to_dict(self) -> dict:
        """A json-safe summary (no weights)."""
        return {
            "kind": "relational",
            "threshold": self.threshold,
            "val_accuracy": self.val_accuracy,
            "best_epoch": self.best_epoch,
            "val_history": self.val_history,
            "val_loss": self.val_loss,
            "train_loss": self.train_loss,
            **self.config,
        }


@torch.no_grad()
def _probabilities(model: RelationalReadout, x: torch.Tensor, batch_size: int) -> np.ndarray:
    """Standardised entities (n, T, K, d) -> (n,) float64 probabilities, in batches (pairs grow as K^2)."""
    model.eval()
    if len(x) == 0:
        return np.zeros(0)
    logits = torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
    return torch.sigmoid(logits.double()).numpy()


def _entities_and_labels(E, y, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    E = torch.as_tensor(np.asarray(E), dtype=torch.float32)
    y = np.asarray(y)
    if E.ndim != 4:
        raise ValueError(f"{name} entities must be (n, T, K, d), got shape {tuple(E.shape)}")
    if y.shape != (len(E),):
        raise ValueError(f"{name} labels must have shape ({len(E)},), got {y.shape}")
    if not torch.isfinite(E).all():
        raise ValueError(f"{name} entities contain NaN or inf")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"{name} labels must be 0/1, got values {np.unique(y)[:10].tolist()}")
    return E, torch.as_tensor(y.astype(np.float32))


def schedule(n_train: int, batch_size: int, epochs: int, min_steps: int) -> tuple[int, int]:
    """(batch size, epochs) for ``n_train`` trials: at most ``batch_size`` and at most a quarter of the trials
    per batch (>= 4 steps per epoch), and enough epochs for ``min_steps`` optimiser steps."""
    batch = max(1, min(batch_size, math.ceil(n_train / 4)))
    steps_per_epoch = math.ceil(n_train / batch)
    return batch, max(epochs, math.ceil(min_steps / steps_per_epoch))


def fit_relational_readout(
    E_train,
    y_train,
    E_val,
    y_val,
    *,
    hidden: int = 64,
    epochs: int = 100,
    lr: float = 1e-3,
    batch_size: int = 64,
    weight_decay: float = 0.0,
    seed: int = 0,
    min_steps: int = 0,
) -> RelationalFit:
    """Train a ``RelationalReadout`` on ``E_train`` (n, T, K, d) / ``y_train`` (n,) with BCE and AdamW.

    Batch size and epoch count follow ``schedule`` (``min_steps`` 0: ``epochs`` epochs). After every epoch the
    validation accuracy (at its best threshold) and loss are measured; the epoch with the highest accuracy is
    kept with that threshold, ties going to the lower validation loss (then the earlier epoch). Validation data
    never influences the gradient steps, so the training trajectory is the same whatever the validation labels are.
    """
    E_train, y_tr = _entities_and_labels(E_train, y_train, "training")
    E_val, y_va = _entities_and_labels(E_val, y_val, "validation")
    if E_train.shape[1:] != E_val.shape[1:]:
        raise ValueError(f"training entities {tuple(E_train.shape)} and validation {tuple(E_val.shape)} differ")
    if len(torch.unique(y_tr)) < 2:
        raise ValueError("the training labels hold a single class")
    if len(E_val) == 0:
        raise ValueError("the validation split is empty")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    batch_size, epochs = schedule(len(E_train), batch_size, epochs, min_steps)
    d = E_train.shape[-1]
    flat = E_train.reshape(-1, d)
    mean, std = flat.mean(0), flat.std(0).clamp_min(1e-6)  # constant features stay finite
    x_tr, x_va = (E_train - mean) / std, (E_val - mean) / std

    with torch.random.fork_rng(devices=[]):  # seeded init without disturbing the caller's global RNG
        torch.manual_seed(seed)
        model = RelationalReadout(d, hidden)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    fit = RelationalFit(
        model,
        mean,
        std,
        threshold=0.5,
        val_accuracy=-1.0,
        best_epoch=0,
        config={
            "hidden": hidden,
            "epochs": epochs,
            "lr": lr,
            "batch_size": batch_size,
            "weight_decay": weight_decay,
            "seed": seed,
            "n_train": len(E_train),
            "n_val": len(E_val),
            "min_steps": min_steps,
        },
    )
    best_state, best_loss = None, math.inf
    y_val_np = y_va.numpy()
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(x_tr), generator=gen)
        total = 0.0
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            loss = loss_fn(model(x_tr[idx]), y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        fit.train_loss.append(total / len(x_tr))
        proba = _probabilities(model, x_va, 64)
        threshold, acc = best_threshold(proba, y_val_np)
        val_loss = float(
            -np.mean(y_val_np * np.log(np.clip(proba, 1e-7, 1)) + (1 - y_val_np) * np.log(np.clip(1 - proba, 1e-7, 1)))
        )
        fit.val_history.append(acc)
        fit.val_loss.append(val_loss)
        if acc > fit.val_accuracy or (acc == fit.val_accuracy and val_loss < best_loss):
            fit.val_accuracy, fit.threshold, fit.best_epoch, best_loss = acc, threshold, epoch, val_loss
            best_state = copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    model.eval()
    return fit
