"""`vdt-physion report CONFIG --out RUN`: one stage of the Physion pipeline (pipelines/stages/report.py)."""

from pipelines.commands._physion_run import stage_command

NAME = "report"
HELP = "write the report (tables, chart, strips) of a run"
add_arguments, run = stage_command(NAME)
