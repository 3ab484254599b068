"""The pieces of ``physion.generate``: seeds, the trial plan, the per-trial worker, manifests, resume and shard merging.

Each module has one job; ``physion.generate.generate`` composes them.
"""

# Bump when a change alters what the same settings produce (seed scheme, naming, retry rule); recorded in every
# manifest and trial, and a resume refuses to mix versions in one store.
GENERATOR_VERSION = "1"
