"""What the report stage draws and tabulates: accuracy plots, markdown tables, rollout strips (also used by the
generation benchmarks and previews)."""
