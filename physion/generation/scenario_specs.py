"""Resolve the user's scenario specs (built-in names, ``module:Class``, ``path/file.py:Class``) to store names."""

from __future__ import annotations

from pathlib import Path

from physion.scenarios import BUILTIN_SCENARIOS, load_scenario


def absolute_spec(spec: str) -> str:
    """Make a ``path/file.py:Class`` spec absolute, so worker processes load the same file whatever their cwd."""
    file_part, sep, class_part = spec.rpartition(":")
    if sep and file_part.endswith(".py"):
        return f"{Path(file_part).resolve()}:{class_part}"
    return spec


def resolve_scenarios(specs: list[str] | tuple[str, ...] | None) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Load each spec once (failing early, in the parent, with load_scenario's error) and name it.

    Returns ``{scenario name: loadable spec}`` in the given order, and the manifest's scenario descriptions.
    Defaults to the 8 built-ins.
    """
    if isinstance(specs, str):  # one spec given bare, not as a list of specs
        specs = [specs]
    specs = list(specs) if specs else list(BUILTIN_SCENARIOS)
    resolved: dict[str, str] = {}
    described: list[dict[str, str]] = []
    for spec in specs:
        loadable = absolute_spec(spec)
        cls = load_scenario(loadable)
        name = cls().name
        if name in resolved:
            raise ValueError(f"scenario {name!r} is given twice (as {resolved[name]!r} and {spec!r})")
        resolved[name] = loadable
        described.append({"name": name, "spec": spec, "class": f"{cls.__module__}.{cls.__qualname__}"})
    return resolved, described
