"""Physion readouts: the physopt linear readout (sklearn), the SlotFormer-style relational readout (torch),
and the test metrics. Model selection uses training CV or a validation split only, never the test set."""

from pipelines.readout_models.linear import LinearReadout, fit_linear_readout
from pipelines.readout_models.metrics import accuracy_ci, paired_difference_ci, roc_auc
from pipelines.readout_models.relational import (
    RelationalFit,
    RelationalReadout,
    fit_relational_readout,
    split_validation,
)

__all__ = [
    "LinearReadout",
    "fit_linear_readout",
    "accuracy_ci",
    "paired_difference_ci",
    "roc_auc",
    "RelationalFit",
    "RelationalReadout",
    "fit_relational_readout",
    "split_validation",
]
