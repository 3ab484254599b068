"""Which autocast dtype a VDT runs under on a device: the config's ``mixed_precision`` (auto / no / bf16).

``auto`` takes bf16 only where the hardware computes it natively. On a CPU without AVX512-BF16 or AMX, PyTorch
emulates bf16 matmuls and the sampler runs several times slower than fp32 (measured in docs/design.md §6), so there
``auto`` means fp32; a CUDA device takes bf16 where ``torch.cuda.is_bf16_supported()`` says so (Ampere and later).
"""

from __future__ import annotations

import logging

import torch

log = logging.getLogger(__name__)
PRECISIONS = ("auto", "no", "bf16")
_warned: set[str] = set()  # devices already warned about an emulated bf16 (extraction asks once per batch)


def native_bf16(device: torch.device | str) -> bool:
    """Whether ``device`` multiplies bf16 matrices in hardware (rather than by conversion to fp32)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return False


def autocast_dtype(setting: str, device: torch.device | str) -> torch.dtype | None:
    """``mixed_precision`` -> the autocast dtype on ``device`` (None: fp32). An explicit bf16 is honoured, with a
    warning where the device only emulates it."""
    if setting not in PRECISIONS:
        raise ValueError(f"mixed_precision must be one of {PRECISIONS}, got {setting!r}")
    if setting == "no":
        return None
    native = native_bf16(device)
    if setting == "bf16":
        if not native and str(device) not in _warned:
            _warned.add(str(device))
            log.warning("mixed_precision bf16 on %s, which emulates bf16: auto (fp32 here) is faster", device)
        return torch.bfloat16
    return torch.bfloat16 if native else None
