"""Helpers shared by tests in several folders, imported as ``tests.helpers`` (``python -m pytest`` runs from the
repository root, which is how ``tests.physion.plugin_example`` is found too)."""

import torch

from vdt.model import VDT


def tiny_vdt(
    size: int = 8, frames: int = 6, patch: int = 2, seed: int | None = 0, perturb: float = 0.05, **overrides
) -> VDT:
    """A small pixel-space VDT for CPU tests, in eval mode. ``perturb``: noise added to the trainable weights, so
    the output depends on the input (adaLN-Zero starts every block at the identity and the output at zero);
    ``seed``: the global seed set first (None: the caller's random state is left as it is); ``overrides``: more
    VDT keywords (hidden_size, num_heads, in_channels, grad_checkpointing, ...)."""
    if seed is not None:
        torch.manual_seed(seed)
    keywords = dict(
        input_size=size,
        patch_size=patch,
        in_channels=3,
        hidden_size=32,
        depth=2,
        num_heads=2,
        num_frames=frames,
        num_classes=1,
    )
    model = VDT(**{**keywords, **overrides})
    if perturb:
        with torch.no_grad():
            for p in model.parameters():
                if p.requires_grad:
                    p.add_(torch.randn_like(p) * perturb)
    return model.eval()
