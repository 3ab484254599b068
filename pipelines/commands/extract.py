"""`vdt-physion extract CONFIG --out RUN`: one stage of the Physion pipeline (pipelines/stages/extract.py)."""

from pipelines.commands._physion_run import stage_command

NAME = "extract"
HELP = "extract observed / simulated / full features (VDT tokens, slots, pixels) of a run"
add_arguments, run = stage_command(NAME)
