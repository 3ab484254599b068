"""`vdt-physion rollout CONFIG --out RUN`: one stage of the Physion pipeline (pipelines/stages/rollout.py)."""

from pipelines.commands._physion_run import stage_command

NAME = "rollout"
HELP = "roll out future frames for the readout and test trials of a run (--shard I/N for array jobs)"
add_arguments, run = stage_command(NAME, shardable=True)
