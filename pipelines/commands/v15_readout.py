"""`vdt-physion v15-readout DIR`: v1.5's all-scenario readout and our per-scenario one on harness feature files."""

from __future__ import annotations

from pathlib import Path

NAME = "v15-readout"
HELP = (
    "fit Physion v1.5's one-readout-over-all-scenarios and our per-scenario physopt readout on a folder of harness "
    "feature files (DIR/<mode>/ written by physion_feature_extract, v15-eval or v15-export); writes "
    "DIR/vdt_physion_readout.json"
)


def add_arguments(p) -> None:
    p.add_argument("dir", type=Path, help="folder with {train,test}_features.hdf5 and {train,test}_json.json")
    p.add_argument("--config", type=Path, default=None, help="run config whose v15 and readout sections apply")


def run(args) -> int:
    from pipelines.config.loading import load_config
    from pipelines.config.physion_run import PhysionRunConfig
    from pipelines.physion_v15.run import read_out, summary_lines

    config = load_config(args.config, PhysionRunConfig) if args.config else PhysionRunConfig()
    for line in summary_lines(read_out(args.dir, config, {"folder": str(args.dir)})):
        print(line)
    return 0
