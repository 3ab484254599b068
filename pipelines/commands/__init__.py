"""One module per ``vdt-physion`` subcommand; each defines ``NAME``, ``HELP``, ``add_arguments(p)`` and ``run(args)``."""
