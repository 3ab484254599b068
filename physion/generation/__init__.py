"""The pieces of ``physion.generation.generate_store``: seeds, the trial plan, the per-trial worker, manifests, resume and shard merging.

Each module has one job; ``physion.generation.generate_store.generate`` composes them.
"""

# Bump when a change alters what the same settings produce (seed scheme, naming, retry rule); recorded in every
# manifest and trial, and a resume refuses to mix versions in one store.
GENERATOR_VERSION = "1"
