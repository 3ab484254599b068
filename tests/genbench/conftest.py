"""Fixtures of the generation-benchmark tests: one CPU thread (tiny models run faster so), a tiny VDT checkpoint."""

import pytest
import torch

from tests.helpers import tiny_vdt
from vdt.checkpoint import save_model


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)  # later test folders keep the machine's threads


@pytest.fixture
def tiny_checkpoint(tmp_path):
    return save_model(tmp_path / "tiny.pt", tiny_vdt())
