"""Physion v1.5 (neuroailab/physion_evaluator) around our VDT: the harness's observation windows, a
``PhysionFeatureExtractor`` adapter for a checkpoint trained here, its HDF5/JSON feature files both ways, and its
all-scenario readout beside our per-scenario one (docs/real_data.md, "The official v1.5 harness")."""
