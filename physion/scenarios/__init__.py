"""The 8 Physion scenario families, and ``load_scenario`` for built-in names and user plugins.

    cls = load_scenario("Collide")                    # a built-in, any case
    cls = load_scenario("my_package.scenes:Seesaw")   # a Scenario subclass in an importable module
    cls = load_scenario("path/to/seesaw.py:Seesaw")   # ... or in a Python file
    trial = cls().simulate(seed, resolution=128, num_frames=150, fps=30, want_label=None)
"""
from __future__ import annotations

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
    if location.endswith(".py"):
        module = _module_from_file(Path(location))
    else:
        try:
            module = importlib.import_module(location)
        except ModuleNotFoundError as error:
            raise ScenarioLoadError(f"scenario spec {spec!r}: cannot import module {location!r} ({error})") from error
    cls = getattr(module, class_name, None)
    if cls is None:
        raise ScenarioLoadError(f"scenario spec {spec!r}: {location!r} defines no {class_name!r}")
    if not (isinstance(cls, type) and issubclass(cls, Scenario)):
        raise ScenarioLoadError(f"scenario spec {spec!r}: {class_name!r} is not a subclass of "
                                "physion.scenarios.base.Scenario")
    return cls
