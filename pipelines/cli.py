"""The ``vdt-physion`` console script: one subcommand per module in ``pipelines.commands``.

Errors the user can act on (the project's error classes and OS errors) end the command
with one line ``vdt-physion: <file>: <problem>`` (and ``(<hint>)`` when there is one) and exit code 2 for bad input,
1 for a failure; ``-v`` or ``--debug`` also prints the traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import pkgutil
import sys
import traceback

from pipelines import commands

PROG = "vdt-physion"
log = logging.getLogger(PROG)
# Error classes defined outside physion.errors, by module: (class name, exit code). Looked up only in modules
# already imported, so the CLI never loads torch just to classify an error that cannot come from it.
FOREIGN_ERRORS = {
    "pipelines.config.loading": [("ConfigError", 2)],
    "vdt.checkpoint": [("CheckpointMismatchError", 2)],
    "physion.scenarios": [("ScenarioLoadError", 2)],
    "physion.generation.worker": [("TrialGenerationError", 1)],
}
# An OS error on a path the user gave that is the wrong kind of thing (a file for a folder, a missing path) is bad
# input; permissions, a full disk and the rest are failures.
BAD_INPUT_ERRNOS = {errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENOENT}
FULL_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT}


def _command_modules():
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"{commands.__name__}.{info.name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging, and tracebacks of errors")
    parser.add_argument("--debug", action="store_true", help="print the traceback behind an error")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in _command_modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def _os_error(err: OSError) -> tuple[str, int]:
    where = " -> ".join(str(f) for f in (err.filename, err.filename2) if f is not None)
    problem = err.strerror or str(err)
    if err.errno in FULL_DISK_ERRNOS:
        problem = f"{problem}: free some space or write elsewhere (finished files are kept; a rerun resumes)"
    elif err.errno == errno.EEXIST and err.filename is not None:
        problem = f"{problem} (a file where a folder is needed?)"
    if not where:
        return str(err), 1
    return f"{where}: {problem}", 2 if err.errno in BAD_INPUT_ERRNOS else 1


def describe_error(err: BaseException) -> tuple[str, int] | None:
    """(the one line to print, the exit code) for an error the user can act on; None for a bug."""
    from physion.errors import ProjectError

    if isinstance(err, ProjectError):
        message = f"{err}" + (f" ({err.hint})" if err.hint else "")
        return message, err.exit_code
    for module_name, classes in FOREIGN_ERRORS.items():
        module = sys.modules.get(module_name)
        for class_name, code in classes:
            if module is not None and isinstance(err, getattr(module, class_name)):
                return str(err), code
    if isinstance(err, OSError):
        return _os_error(err)
    return None


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(_Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])


class _Formatter(logging.Formatter):
    """The CLI's own error lines are bare ``vdt-physion: ...``; every other record carries time, level and name."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name == PROG and record.levelno >= logging.ERROR:
            return f"{PROG}: {record.getMessage()}"
        return super().format(record)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(args.verbose)
    try:
        return int(args._run(args) or 0)
    except Exception as err:
        described = describe_error(err)
        if described is None:
            raise
        if args.verbose or args.debug:
            traceback.print_exception(err, file=sys.stderr)
        message, code = described
        log.error("%s", message)
        return code


if __name__ == "__main__":
    sys.exit(main())
