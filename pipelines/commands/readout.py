"""`vdt-physion readout CONFIG --out RUN`: one stage of the Physion pipeline (pipelines/stages/readout.py)."""

from pipelines.commands._physion_run import stage_command

NAME = "readout"
HELP = "fit the per-scenario readouts of a run and score them on the test split"
add_arguments, run = stage_command(NAME)
