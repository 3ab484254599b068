"""mixed_precision auto / no / bf16 -> the autocast dtype, by what the device computes natively."""

import logging

import pytest
import torch

from vdt import precision
from vdt.precision import autocast_dtype, native_bf16


@pytest.fixture
def cpu_bf16(monkeypatch):
    """Set whether the CPU reports native bf16 (AVX512-BF16; AMX reported absent)."""

    def set_native(native: bool):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: native)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)

    return set_native


@pytest.mark.parametrize("native", [True, False])
def test_auto_takes_bf16_only_where_the_cpu_has_it(cpu_bf16, native):
    cpu_bf16(native)
    assert native_bf16("cpu") is native
    assert autocast_dtype("auto", "cpu") == (torch.bfloat16 if native else None)
    assert autocast_dtype("no", torch.device("cpu")) is None


def test_an_explicit_bf16_is_honoured_and_warned_about_once_where_emulated(cpu_bf16, caplog, monkeypatch):
    monkeypatch.setattr(precision, "_warned", set())
    cpu_bf16(False)
    with caplog.at_level(logging.WARNING, logger=precision.__name__):
        assert autocast_dtype("bf16", "cpu") == torch.bfloat16
        assert autocast_dtype("bf16", "cpu") == torch.bfloat16
    assert caplog.text.count("emulates bf16") == 1
    monkeypatch.setattr(precision, "_warned", set())
    cpu_bf16(True)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=precision.__name__):
        assert autocast_dtype("bf16", "cpu") == torch.bfloat16
    assert caplog.text == ""


def test_an_unknown_setting_is_refused():
    with pytest.raises(ValueError, match="mixed_precision must be one of"):
        autocast_dtype("fp16", "cpu")
