"""The ``vdt-physion`` console script: one subcommand per module in ``pipelines.commands``."""
from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

from pipelines import commands


def _command_modules():
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"{commands.__name__}.{info.name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vdt-physion", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in _command_modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from pipelines.config.loading import ConfigError
    try:
        return int(args._run(args) or 0)
    except ConfigError as err:  # an invalid config or a missing local path: the message says which, no traceback
        logging.getLogger("vdt-physion").error("%s", err)
        return 2


if __name__ == "__main__":
    sys.exit(main())
