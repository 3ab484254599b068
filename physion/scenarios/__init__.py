"""The 8 Physion scenario families, and ``load_scenario`` for built-in names and user plugins.

cls = load_scenario("Collide")                    # a built-in, any case
cls = load_scenario("my_package.scenes:Seesaw")   # a Scenario subclass in an importable module
cls = load_scenario("path/to/seesaw.py:Seesaw")   # ... or in a Python file
trial = cls().simulate(seed, resolution=128, num_frames=150, fps=30, want_label=None)
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path

from physion.scenarios.base import Push, Scenario, SceneObjects
from physion.scenarios.collide import Collide
from physion.scenarios.contain import Contain
from physion.scenarios.dominoes import Dominoes
from physion.scenarios.drape import Drape
from physion.scenarios.drop import Drop
from physion.scenarios.link import Link
from physion.scenarios.roll import Roll
from physion.scenarios.support import Support

# Name -> class, in physion.trial.SCENARIOS order.
BUILTIN_SCENARIOS: dict[str, type[Scenario]] = {
    cls.name: cls for cls in (Dominoes, Support, Collide, Contain, Drop, Link, Roll, Drape)
}

__all__ = ["BUILTIN_SCENARIOS", "Push", "Scenario", "ScenarioLoadError", "SceneObjects", "load_scenario"]


class ScenarioLoadError(ValueError):
    """A scenario spec that names no built-in and no loadable Scenario subclass."""


def _module_from_file(path: Path):
    if not path.is_file():
        raise ScenarioLoadError(f"{path}: no such plugin file")
    # A name derived from the absolute path: the same file is one module, two files never clash.
    name = "physion_plugin_" + hashlib.sha1(str(path.resolve()).encode("utf-8")).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before exec, so dataclasses and pickling can find the module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _check_defines(spec: str, path: Path, class_name: str) -> None:
    """ScenarioLoadError, without running ``path``, when nothing in it can bind ``class_name`` (a class, a function,
    an assignment or an import); a ``*`` import, dynamic definitions or unparsable source leave it to the import."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return  # the import reports it with the line
    bound: set[str] = set()
    for node in ast.walk(tree):  # every binding anywhere: a superset of the top level, so never a false refusal
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            if node.name == "*":
                return
            bound.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("globals", "setattr", "exec"):
            return  # dynamic definitions: leave them to the import
    if class_name not in bound and "__getattr__" not in bound:  # a module __getattr__ may provide any name
        raise ScenarioLoadError(
            f"scenario spec {spec!r}: {path} defines no {class_name!r} (checked without importing it)"
        )


def load_scenario(spec: str) -> type[Scenario]:
    """The Scenario class for ``spec``: a built-in name (case-insensitive), ``module:Class`` or ``file.py:Class``."""
    location, sep, class_name = spec.rpartition(":")
    if not sep:
        for name, cls in BUILTIN_SCENARIOS.items():
            if name.lower() == spec.strip().lower():
                return cls
        raise ScenarioLoadError(
            f"unknown scenario {spec!r}; built-ins are {', '.join(BUILTIN_SCENARIOS)}; a plugin is given as "
            "'package.module:ClassName' or 'path/to/file.py:ClassName'"
        )
    if not location or not class_name:
        raise ScenarioLoadError(f"scenario spec {spec!r} must look like 'module:ClassName' or 'file.py:ClassName'")
    # Importing a plugin runs its code: first make sure, from its source, that it can define the class at all.
    if location.endswith(".py"):
        path = Path(location)
        if not path.is_file():
            raise ScenarioLoadError(f"{path}: no such plugin file")
        _check_defines(spec, path, class_name)
        module = _module_from_file(path)
    else:
        try:
            found = importlib.util.find_spec(location)  # imports the parent packages only
        except (ModuleNotFoundError, ValueError) as error:
            found, cause = None, error
        else:
            cause = "not found"
        if found is None:
            raise ScenarioLoadError(f"scenario spec {spec!r}: cannot import module {location!r} ({cause})")
        if found.origin and found.origin.endswith(".py") and Path(found.origin).is_file():
            _check_defines(spec, Path(found.origin), class_name)
        try:
            module = importlib.import_module(location)
        except ModuleNotFoundError as error:
            raise ScenarioLoadError(f"scenario spec {spec!r}: cannot import module {location!r} ({error})") from error
    cls = getattr(module, class_name, None)
    if cls is None:
        raise ScenarioLoadError(f"scenario spec {spec!r}: {location!r} defines no {class_name!r}")
    if not (isinstance(cls, type) and issubclass(cls, Scenario)):
        raise ScenarioLoadError(
            f"scenario spec {spec!r}: {class_name!r} is not a subclass of physion.scenarios.base.Scenario"
        )
    return cls
