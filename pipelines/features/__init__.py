"""Feature extractors for the readouts: VDT token grids (vdt_tokens), slots over them (slots), raw pixels (pixels)
and the colour-found agent and patient with the VDT tokens under them (objects)."""
