"""`vdt-physion pretrain CONFIG --out RUN`: one stage of the Physion pipeline (pipelines/stages/pretrain.py)."""

from pipelines.commands._physion_run import stage_command

NAME = "pretrain"
HELP = "pretrain the VDT(s) of a run config (resumes from the last checkpoint; accelerate launch for GPUs)"
add_arguments, run = stage_command(NAME)
