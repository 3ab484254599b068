"""Feature extractors over VDT token grids for the readouts (e.g. object-centric slots)."""
