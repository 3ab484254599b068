"""Load YAML into a typed config with errors that name the file and the key; check local paths before any work."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)


class ConfigError(ValueError):
    """An invalid config: the message names the file and every offending key."""


def add_overrides_argument(parser, example: str = "pretrain.steps=100") -> None:
    """The ``--set KEY=VALUE`` option of every command that loads a config (``args.overrides``, for load_config)."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a config value, e.g. --set {example} (repeatable)",
    )


def _parse_override(text: str) -> tuple[list[str], object]:
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE (e.g. pretrain.steps=100)")
    key, value = text.split("=", 1)
    return key.strip().split("."), yaml.safe_load(value)


def load_config(path: str | Path, schema: type[T], overrides: list[str] | None = None) -> T:
    """Read ``path`` (YAML), apply ``overrides`` ("a.b=value", YAML-typed) and validate against ``schema``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections, got {type(raw).__name__}")
    for text in overrides or []:
        keys, value = _parse_override(text)
        node = raw
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {text!r}: {key} is not a section")
        node[keys[-1]] = value
    return validate_config(raw, schema, source=str(path))


def validate_config(raw: dict, schema: type[T], source: str = "config", context: dict | None = None) -> T:
    """``schema`` built from ``raw`` (``context`` goes to its validators); a ConfigError names every bad key."""
    try:
        return schema.model_validate(raw, context=context)
    except ValidationError as err:
        lines = []
        for e in err.errors():
            key = ".".join(str(p) for p in e["loc"]) or "(top level)"
            msg = e["msg"].removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                msg = "unknown key (typo? see the schema in pipelines/config)"
            lines.append(f"  {key}: {msg}")
        raise ConfigError(f"{source}: invalid config\n" + "\n".join(lines)) from None


def preflight(config: BaseModel, source: str = "config", paths: dict[str, Path] | None = None) -> None:
    """Fail before any work when a local weights/data path the config names does not exist: ``paths`` (key ->
    path), by default ``config.required_paths()``."""
    paths = config.required_paths() if paths is None else paths
    missing = [f"  {key}: {path} does not exist" for key, path in paths.items() if not Path(path).exists()]
    if missing:
        raise ConfigError(
            f"{source}: missing local paths (weights and data are never downloaded)\n" + "\n".join(missing)
        )


def dump_config(config: BaseModel) -> str:
    return yaml.safe_dump(json.loads(config.model_dump_json()), sort_keys=False)


def section_hash(*parts: object) -> str:
    """A stable short hash of config sections (pydantic models or plain json-able values)."""
    blob = json.dumps(
        [json.loads(p.model_dump_json()) if isinstance(p, BaseModel) else p for p in parts], sort_keys=True, default=str
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
