"""`vdt-physion v15-export CONFIG --out RUN`: a run's extracted features as Physion v1.5 harness files."""

from __future__ import annotations

from pipelines.commands._physion_run import add_config_arguments, context_from_args

NAME = "v15-export"
HELP = (
    "write extract-stage arrays (<family>_<variant>, default v15.export of the config) of a run as the v1.5 "
    "harness's {train,test}_features.hdf5, _json.json and _scenario_map.json in RUN/v15/export/<array>/ "
    "(readout split = train, test = test), for physion_train_readout or v15-readout"
)


def add_arguments(p) -> None:
    add_config_arguments(p)
    p.add_argument("--array", action="append", help="an extract array such as vdt_observed (repeatable)")
    p.add_argument("--readout", action="store_true", help="also fit both readouts on each exported folder")


def run(args) -> int:
    from pipelines.config.loading import ConfigError
    from pipelines.physion_v15.run import export_extracted, read_out, summary_lines

    ctx = context_from_args(args)
    if not ctx.is_done("extract"):
        raise ConfigError(f"{ctx.stage_dir('extract')}: the extract stage is not done; run --until extract first")
    for array in args.array or ctx.config.v15.export:
        folder = export_extracted(ctx, array)
        print(f"{array}: {folder}")
        if args.readout:
            sources = {"store": str(ctx.store), "array": array, "train_split": "readout", "test_split": "test"}
            for line in summary_lines(read_out(folder, ctx.config, sources)):
                print(line)
    return 0
