"""The one learning-rate schedule: warm-up from 1 / warmup of the peak, then constant or cosine to 0 at the end."""

import math

import pytest
import torch

from pipelines.training.schedule import lr_factor, warmup_schedule


def rates(decay: str, warmup: int = 4, total: int = 12) -> list[float]:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=2.0)
    schedule = warmup_schedule(opt, warmup, total, decay)
    out = []
    for _ in range(total):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        schedule.step()
    return out


def test_warm_up_then_constant_or_cosine():
    constant, cosine = rates("constant"), rates("cosine")
    assert constant[:4] == cosine[:4] == [0.5, 1.0, 1.5, 2.0]  # (step + 1) / warmup: never a step at rate 0
    assert constant[4:] == [2.0] * 8
    assert cosine[4] == 2.0 and all(a > b for a, b in zip(cosine[4:], cosine[5:])) and 0 < cosine[-1] < 0.1
    assert cosine[8] == pytest.approx(2.0 * 0.5 * (1 + math.cos(math.pi * 4 / 8)))
    assert lr_factor(50, 4, 12, "cosine") == 0.0  # past the end the rate stays at 0


def test_unknown_decay_is_refused():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ValueError, match="unknown learning-rate decay"):
        warmup_schedule(opt, 1, 10, "linear")
