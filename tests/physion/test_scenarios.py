"""The scenario engine and the 8 Physion families: determinism, labels, contacts, segmentation, colours, plugins.

Trials run at 32 px (64 px for colours) and 120 frames: enough for the first-contact rule (positives touch at
frame >= 45), small enough for the whole file to stay fast on CPU.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np
import pytest

from physion.engine import Camera, CameraRig, World, cloth_obj, ring_parts, wedge_mesh
from physion.errors import RejectedTrial
from physion.scenarios import BUILTIN_SCENARIOS, ScenarioLoadError, load_scenario
from physion.scenarios.base import Scenario
from physion.scenarios.collide import Collide
from physion.trial import OBSERVED_FRAMES, SCENARIOS, Trial

RES, FRAMES = 32, 120

# (seed, want_label) -> the label it gives at RES x RES, FRAMES frames; found by searching seeds 0.. per label.
PINNED = {
    "Dominoes": {True: 0, False: 0},
    "Support": {True: 0, False: 0},
    "Collide": {True: 0, False: 0},
    "Contain": {True: 2, False: 3},
    "Drop": {True: 1, False: 0},
    "Link": {True: 2, False: 0},
    "Roll": {True: 1, False: 1},
    "Drape": {True: 2, False: 0},
}

_cache: dict[tuple, Trial] = {}


def simulate(
    scenario: str | Scenario, seed: int, want: bool | None, resolution: int = RES, frames: int = FRAMES
) -> Trial:
    """A trial, computed once per test session."""
    instance = load_scenario(scenario)() if isinstance(scenario, str) else scenario
    key = (type(instance).__name__, json.dumps(vars(instance), sort_keys=True), seed, want, resolution, frames)
    if key not in _cache:
        _cache[key] = instance.simulate(seed, resolution=resolution, num_frames=frames, want_label=want)
    return _cache[key]


def pinned(name: str, label: bool) -> Trial:
    return simulate(name, PINNED[name][label], label)


# ------------------------------------------------------------------------------------------------- loading
def test_builtins_are_the_eight_physion_scenarios():
    assert tuple(BUILTIN_SCENARIOS) == SCENARIOS
    for name, cls in BUILTIN_SCENARIOS.items():
        assert cls().name == name
        assert load_scenario(name.lower()) is cls and load_scenario(name.upper()) is cls


def test_unknown_name_lists_the_builtins():
    with pytest.raises(ScenarioLoadError) as error:
        load_scenario("Colide")
    message = str(error.value)
    assert "'Colide'" in message
    for name in SCENARIOS:
        assert name in message


@pytest.mark.parametrize(
    "spec, problem",
    [
        ("tests.physion.plugin_example:Missing", "defines no 'Missing'"),
        ("tests.physion.no_such_module:Bump", "cannot import module"),
        ("physion.trial:Trial", "is not a subclass"),
        ("does/not/exist.py:Bump", "no such plugin file"),
    ],
)
def test_bad_plugin_specs_say_what_is_wrong(spec, problem):
    with pytest.raises(ScenarioLoadError, match=problem):
        load_scenario(spec)


def test_plugin_loads_by_module_and_by_file_and_simulates():
    by_module = load_scenario("tests.physion.plugin_example:Bump")
    by_file = load_scenario(f"{Path(__file__).parent / 'plugin_example.py'}:Bump")
    assert by_module.name == by_file.name == "Bump"
    hit = by_file(speed=0.8).simulate(3, resolution=RES, num_frames=FRAMES)
    miss = by_module(speed=0.2).simulate(3, resolution=RES, num_frames=FRAMES)
    assert hit.label is True and hit.first_contact_frame >= OBSERVED_FRAMES
    assert miss.label is False and miss.first_contact_frame is None
    assert hit.name == "Bump_00000003" and hit.object_names == ["agent", "patient", "floor", "walls"]
    assert hit.params["scene"] == {"speed": 0.8, "gap": 1.2}
    # The ball rolled straight along +x at about 5/7 of its push speed.
    assert hit.positions[0, 0, 0] == pytest.approx(0.0, abs=1e-4)
    assert hit.velocities[30, 0, 0] == pytest.approx(0.8 * 5 / 7, rel=0.1)


# --------------------------------------------------------------------------------------------- validity
def test_early_contact_of_a_positive_is_rejected():
    bump = load_scenario("tests.physion.plugin_example:Bump")
    with pytest.raises(RejectedTrial, match=f"inside the {OBSERVED_FRAMES} observed frames"):
        bump(gap=0.2, speed=1.0).simulate(0, resolution=RES, num_frames=FRAMES)


def test_overlapping_start_and_hidden_patient_are_rejected():
    with pytest.raises(RejectedTrial, match=r"agent and blocker overlap by 50\.0 mm"):
        load_scenario("tests.physion.plugin_example:Overlapping")().simulate(0, resolution=RES, num_frames=5)
    with pytest.raises(RejectedTrial, match="patient shows 0 pixels in the first frame"):
        load_scenario("tests.physion.plugin_example:Hidden")().simulate(0, resolution=RES, num_frames=5)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="resolution >= 8"):
        Collide().simulate(0, resolution=4)


# ------------------------------------------------------------------------------------------ determinism
@pytest.mark.parametrize("name", ["Collide", "Drape"])
def test_same_seed_gives_identical_bytes(name):
    first = load_scenario(name)().simulate(5, resolution=RES, num_frames=50)
    again = load_scenario(name)().simulate(5, resolution=RES, num_frames=50)
    for field in ("frames", "segmentation", "contacts", "positions", "velocities"):
        assert getattr(first, field).tobytes() == getattr(again, field).tobytes(), field
    assert (first.label, first.first_contact_frame, first.params) == (
        again.label,
        again.first_contact_frame,
        again.params,
    )


def test_different_seeds_differ():
    a = Collide().simulate(5, resolution=RES, num_frames=50)
    b = Collide().simulate(7, resolution=RES, num_frames=50)
    assert a.params["scene"] != b.params["scene"]
    assert not np.array_equal(a.frames, b.frames)
    assert not np.array_equal(a.positions, b.positions)


# ------------------------------------------------------------------------------------------------ labels
@pytest.mark.parametrize("name", SCENARIOS)
@pytest.mark.parametrize("label", [True, False])
def test_every_scenario_gives_both_labels(name, label):
    trial = pinned(name, label)
    assert trial.label is label and trial.scenario == name and trial.seed == PINNED[name][label]
    assert trial.frames.shape == (FRAMES, RES, RES, 3) and trial.frames.dtype == np.uint8
    assert trial.contacts.shape == (FRAMES,) and trial.contacts.dtype == bool
    assert trial.segmentation.shape == (FRAMES, RES, RES) and trial.segmentation.dtype == np.int32
    count = len(trial.object_ids)
    assert len(trial.object_names) == count and trial.object_names[:2] == ["agent", "patient"]
    assert trial.object_names[-2:] == ["floor", "walls"]
    assert trial.positions.shape == trial.velocities.shape == (FRAMES, count, 3)
    assert trial.positions.dtype == np.float32 and np.isfinite(trial.positions).all()
    # Contacts agree with the label; positives first touch after the observed frames.
    assert trial.label == bool(trial.contacts.any())
    if label:
        assert trial.first_contact_frame == int(np.argmax(trial.contacts)) >= OBSERVED_FRAMES
    else:
        assert trial.first_contact_frame is None
    # Agent (index 1) and patient (index 2) are in the first frame's segmentation; every index is a known object.
    first = trial.segmentation[0]
    assert (first == trial.agent_index + 1).any() and (first == trial.patient_index + 1).any()
    assert trial.segmentation.min() >= 0 and trial.segmentation.max() <= count
    assert json.loads(json.dumps(trial.params))["want_label"] is label


def test_collide_aim_overrides_decide_hit_and_miss():
    for seed in (0, 3, 4):
        hit = simulate(Collide(aim_offset=0.0, speed=2.0), seed, True)
        miss = simulate(Collide(aim_offset=1.5, speed=2.0), seed, True)
        assert hit.label is True and hit.first_contact_frame >= OBSERVED_FRAMES
        assert miss.label is False
        assert hit.params["scene"]["probe"]["aim_offset"] == 0.0 and miss.params["scene"]["probe"]["speed"] == 2.0
        # The missed agent never moved; the hit one travelled towards the patient (+x).
        assert np.abs(miss.positions[-1, 0] - miss.positions[0, 0]).max() < 1e-3
        assert hit.positions[-1, 0, 0] - hit.positions[0, 0, 0] > 0.5


def test_agent_is_red_and_patient_is_yellow():
    trial = simulate("Collide", 0, True, resolution=64, frames=2)
    rgb, ids = trial.frames[0].astype(float), trial.segmentation[0]
    red = rgb[ids == trial.agent_index + 1].mean(axis=0)
    yellow = rgb[ids == trial.patient_index + 1].mean(axis=0)
    assert red[0] > 2 * red[1] and red[0] > 2 * red[2]
    assert yellow[0] > 2 * yellow[2] and yellow[1] > 2 * yellow[2] and abs(yellow[0] - yellow[1]) < 0.3 * yellow[0]


def test_segmentation_follows_the_bodies_states():
    """The agent's pixels move the way its recorded position does (they come from the same engine bodies)."""
    trial = simulate(Collide(aim_offset=0.0, speed=2.0), 0, True)
    xs = [np.nonzero(trial.segmentation[t] == 1)[1].mean() for t in (0, FRAMES - 1)]
    moved = trial.positions[-1, 0, 0] - trial.positions[0, 0, 0]
    assert moved > 0.5 and xs[1] > xs[0] + 2  # +x runs left to right in the image


# -------------------------------------------------------------------------------------------- the engine
def test_worlds_are_independent_clients():
    with World(1 / 240) as a, World(1 / 240) as b:
        assert a.client != b.client
        ball = a.sphere(0.1, (0.0, 0.0, 1.0), mass=1.0, color=(1.0, 0.0, 0.0))
        assert b.body_ids() == [] and a.body_ids() == [ball]
        for _ in range(24):
            a.step()
        assert a.state(ball)[1][2] == pytest.approx(-9.81 * 0.1, rel=1e-3)  # 0.1 s of free fall


def test_a_released_client_is_reused_empty():
    with World(1 / 240) as first:
        first.sphere(0.1, (0.0, 0.0, 1.0), mass=1.0, color=(1.0, 0.0, 0.0))
        client = first.client
    with World(1 / 240) as second:
        assert second.client == client  # kept, not disconnected
        assert second.body_ids() == []  # and reset: nothing of the first world is left
        ball = second.sphere(0.1, (0.0, 0.0, 1.0), mass=1.0, color=(1.0, 0.0, 0.0))
        for _ in range(24):
            second.step()
        assert second.state(ball)[1][2] == pytest.approx(-9.81 * 0.1, rel=1e-3)


@pytest.mark.parametrize(("name", "before"), [("Collide", "Drop"), ("Roll", "Dominoes"), ("Drape", "Drape")])
def test_reused_clients_simulate_like_fresh_ones(name, before, monkeypatch):
    """A trial simulated on clients that earlier trials used is byte for byte the one fresh clients give."""
    import physion.engine.world as world_module

    kwargs = dict(resolution=RES, num_frames=50)
    monkeypatch.setattr(world_module, "_IDLE_CLIENTS", {False: [], True: []})
    monkeypatch.setattr(world_module, "_MAX_IDLE", 0)  # every world connects its own client and disconnects it
    fresh = load_scenario(name)().simulate(5, **kwargs)
    monkeypatch.setattr(world_module, "_MAX_IDLE", 4)
    with contextlib.suppress(RejectedTrial):  # a rejected trial leaves its clients just the same
        load_scenario(before)().simulate(3, **kwargs)  # leaves its clients idle, with its bodies until reset
    connects, worlds = [], []
    real_connect, real_acquire = world_module.p.connect, world_module._acquire_client
    monkeypatch.setattr(world_module.p, "connect", lambda *a: connects.append(a) or real_connect(*a))
    monkeypatch.setattr(world_module, "_acquire_client", lambda kind: worlds.append(kind) or real_acquire(kind))
    reused = load_scenario(name)().simulate(5, **kwargs)
    assert len(connects) < len(worlds)  # the trial ran on reused clients (a rehearsal may need one more)
    for field in ("frames", "segmentation", "contacts", "positions", "velocities"):
        assert getattr(fresh, field).tobytes() == getattr(reused, field).tobytes(), field
    assert (fresh.label, fresh.params) == (reused.label, reused.params)


def test_geometry_helpers():
    text = cloth_obj(1.0, 3)
    assert text.count("\nv ") + text.startswith("v ") == 9 and text.count("\nf ") == 8
    wedge = wedge_mesh(1.0, 0.5, 0.3)
    centre = wedge.hull.mean(axis=0)
    # Outward normals: every face's normal points away from the solid's centre.
    assert all(np.dot(n, v - centre) > 0 for n, v in zip(wedge.normals[::3], wedge.vertices[::3]))
    ring = ring_parts(0.15, 0.02, segments=6)
    assert len(ring) == 6 and all(
        np.hypot(*part.offset[:2]) == pytest.approx(0.15 * np.cos(np.pi / 6)) for part in ring
    )


def test_camera_projects_its_target_to_the_image_centre():
    camera = Camera.nominal(CameraRig(target=(0.3, 0.1, 0.2), distance=3.0, azimuth=20.0, elevation=30.0))
    image = camera.project(np.array([[0.3, 0.1, 0.2], [5.3, 0.1, 0.2]]))
    assert np.allclose(image[0], 0.0, atol=1e-6)
    assert image[1, 0] > 1.0  # far to the right: out of view
    assert camera.eye[2] == pytest.approx(0.2 + 3.0 * np.sin(np.radians(30.0)))
