"""A run folder and what every stage needs to know about it.

``runs/<name>/``: ``config.yaml`` (resolved), one folder per stage, each with ``started.json`` (the stage's input
key, written when it starts) and ``manifest.json`` (written last, atomically, when it finished). A stage is done
when its manifest's key matches; a stage folder started under another key belongs to another config and is
never silently mixed with this one.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from physion.atomic import write_json_atomic
from physion.errors import ProjectError
from pipelines.config.loading import section_hash
from pipelines.config.physion_run import STAGES, PhysionRunConfig


class StageConflictError(ProjectError):
    """A stage folder holds work made from a different config (bad input: the user picks the folder or --from)."""

    exit_code = 2


class StageOrderError(ProjectError):
    """A stage asked for before the stages it needs are done."""

    exit_code = 2


def _stage_inputs(config: PhysionRunConfig, stage: str) -> list:
    c = config
    return {
        # the resolved render resolution and frame stride: with their 'model' defaults they follow the model section
        "generate": [c.data] + ([c.data.generation(c.model)] if c.data.source == "generate" else []),
        "pretrain": [c.protocol, c.latent, c.model, c.pretrain, c.seed],
        "rollout": [c.rollout],
        "extract": [c.extract, {"slots": ("slots", "relational") in c.readout.pairs}],  # slot features or not
        "readout": [c.readout],
        "report": [c.report],
    }[stage]


@dataclass
class RunContext:
    config: PhysionRunConfig
    root: Path
    progress: bool = True
    shard: tuple[int, int] | None = None  # rollout: only shard I of N of the units (pipelines.distributed)
    pretrain_root: Path | None = None  # evaluate: reuse another run's pretrained models
    model_group: str | None = None  # evaluate: one pretrained model for every scenario
    splits: tuple[str, ...] = ("readout", "test")  # the splits rolled out, extracted and read out
    _names: list[str] | None = field(default=None, repr=False)

    @property
    def stages(self) -> tuple[str, ...]:
        """The stages this run owns (an evaluate run borrows its pretrained models and owns no pretrain stage)."""
        return tuple(s for s in STAGES if not (s == "pretrain" and self.pretrain_root is not None))

    # -- folders ----------------------------------------------------------------------------------
    def stage_dir(self, stage: str) -> Path:
        return self.root / stage

    @property
    def store(self) -> Path:
        data = self.config.data
        return self.stage_dir("generate") / "store" if data.source == "generate" else Path(data.store)

    def scenario_names(self) -> list[str]:
        """Scenario names as the store files them (plugin specs resolve to their class's ``name``)."""
        if self._names is None:
            if self.config.data.source == "generate":
                from physion.generation.scenario_specs import resolve_scenarios

                self._names = list(resolve_scenarios(self.config.data.scenarios)[0])
            else:
                self._names = list(self.config.data.scenarios)
        return self._names

    def groups(self) -> dict[str, list[str]]:
        return self.config.pretraining_groups(self.scenario_names())

    def group_of(self, scenario: str) -> str:
        return self.model_group or self.config.group_of(scenario)

    def model_path(self, scenario: str) -> Path:
        return (self.pretrain_root or self.stage_dir("pretrain")) / self.group_of(scenario) / "model.pt"

    # -- stage bookkeeping ------------------------------------------------------------------------
    def key(self, stage: str) -> str:
        """Hash of this stage's config sections and of every earlier stage's (so upstream changes propagate,
        while redoing an upstream stage with the same config does not invalidate later ones)."""
        upto = STAGES[: STAGES.index(stage) + 1]
        extra = [str(self.pretrain_root), self.model_group, list(self.splits)]
        return section_hash(*[part for s in upto for part in _stage_inputs(self.config, s)], *extra)

    def manifest(self, stage: str) -> dict[str, Any] | None:
        path = self.stage_dir(stage) / "manifest.json"
        return _read_json(path) if path.is_file() else None

    def is_done(self, stage: str) -> bool:
        m = self.manifest(stage)
        return m is not None and m.get("key") == self.key(stage)

    def begin(self, stage: str) -> None:
        """Claim the stage folder for this config (refusing one started under another), drop a stale manifest."""
        folder = self.stage_dir(stage)
        started = folder / "started.json"
        if started.is_file():
            old = _read_json(started).get("key")
            if old != self.key(stage):
                raise StageConflictError(
                    folder,
                    f"holds work from a different config (key {old}, now {self.key(stage)})",
                    hint=f"use another --out, or `--from {stage}` to discard this stage and the ones after it",
                )
        else:
            write_json_atomic(started, {"stage": stage, "key": self.key(stage), "started_at": _now()})
        (folder / "manifest.json").unlink(missing_ok=True)

    def finish(self, stage: str, summary: dict[str, Any]) -> None:
        write_json_atomic(
            self.stage_dir(stage) / "manifest.json",
            {"stage": stage, "key": self.key(stage), "finished_at": _now(), **summary},
        )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise StageConflictError(
            path,
            f"is not valid JSON ({err}); it was not written by this pipeline",
            hint="remove the stage folder, or use `--from` that stage",
        ) from None
    if not isinstance(value, dict):
        raise StageConflictError(path, "is not a JSON object; it was not written by this pipeline")
    return value


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
