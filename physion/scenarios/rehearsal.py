"""Rehearsal: run a scene's physics once, without rendering, to see where the agent goes before placing the patient.

Used to follow the ``want_label`` hint in scenes too chaotic to aim by formula (a toppling tower, a bouncing drop):

1. the scene is built in a sibling world with the patient parked far away, and simulated for the whole trial while
   the agent's pose is recorded every frame (its ``Track``);
2. candidate patient spots are proposed from the track (where the agent lands late, or beside its path);
3. the track is replayed against a *ghost* patient at each candidate (collisions off, so nothing moves; pybullet
   still measures the agent's distance to it), giving each spot's first touch and closest pass;
4. a spot that gives the wanted outcome is drawn, and the trial is built with the patient there.

The trial's label still comes from its own simulation's contacts. Before the agent first touches the patient the two
simulations are the same (same bodies in the same order; a static patient elsewhere changes nothing), so the
rehearsal predicts the first touch well.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pybullet as p

from physion.engine import Camera, World
from physion.errors import RejectedTrial
from physion.scenarios.props import free_spot, half_height, half_width, patient_on_floor
from physion.trial import OBSERVED_FRAMES

if TYPE_CHECKING:
    from physion.scenarios.base import Scenario, SceneObjects

REPORT_DISTANCE = 0.5  # metres: farther ghosts are not measured (their closest distance stays infinite)
TOUCH_DISTANCE = 0.01  # metres: frames are sampled 1/30 s apart, so count a near pass as a touch
NEAR_MISS = (0.03, 0.35)  # metres: how close a negative's agent should come to the patient, preferably
EARLIEST_FRAME = OBSERVED_FRAMES + 3  # positives should touch clearly after the observed frames


@dataclass(frozen=True)
class Spot:
    """A placement of the patient: its (x, y) on the floor and yaw (radians)."""

    x: float
    y: float
    yaw: float = 0.0


PARK = Spot(40.0, 40.0)  # where the real patient waits during a rehearsal, far from everything


@dataclass
class Track:
    """The agent's rehearsed motion, one row per frame: positions (F, 3), orientations (F, 4) xyzw quaternions,
    and its axis-aligned bounding box corners low/high (F, 3)."""

    positions: np.ndarray
    orientations: np.ndarray
    low: np.ndarray
    high: np.ndarray


@dataclass(frozen=True)
class SpotOutcome:
    spot: Spot
    first_touch: int | None  # first frame with the agent within TOUCH_DISTANCE of the patient, if any
    closest: float  # smallest agent-patient distance over the trial, metres
    blocked: bool  # the patient there would overlap another body's starting bounding box (the room's aside)


class Rehearsal:
    """A physics-only run of a scene (``build_at(world, spot)`` builds it with the patient at ``spot``, the same bodies
    in the same order on every call). Use as a context manager; ``track`` is ready on entry."""

    def __init__(self, scenario: "Scenario", world: World, build_at: Callable[[World, Spot], "SceneObjects"]):
        self.stage = world.sibling()
        try:
            self.scene = build_at(self.stage, PARK)
            self.track = self._record(scenario)
        except BaseException:
            self.stage.close()
            raise

    def __enter__(self) -> "Rehearsal":
        return self

    def __exit__(self, *exc) -> None:
        self.stage.close()

    def _record(self, scenario: "Scenario") -> Track:
        client, agent = self.stage.client, self.scene.agent
        p.performCollisionDetection(physicsClientId=client)  # as the trial's start-overlap check does
        # Everything but the room (the sibling's first two bodies: floor and walls) and the parked patient.
        furniture = [b for b in self.stage.body_ids()[2:] if b != self.scene.patient]
        self.start_boxes = np.array([p.getAABB(b, physicsClientId=client) for b in furniture]).reshape(-1, 2, 3)
        rows = []
        for _ in scenario.advance(self.stage, self.scene):
            position, orientation = p.getBasePositionAndOrientation(agent, physicsClientId=client)
            low, high = p.getAABB(agent, physicsClientId=client)
            rows.append((position, orientation, low, high))
        columns = [np.asarray([row[k] for row in rows], dtype=np.float64) for k in range(4)]
        return Track(*columns)

    def evaluate(self, make_patient: Callable[[World, Spot], int], spots: Sequence[Spot]) -> list[SpotOutcome]:
        """Replay the track against a ghost patient at each spot (this ends the rehearsal's physics)."""
        client, agent = self.stage.client, self.scene.agent
        ghosts = [make_patient(self.stage, spot) for spot in spots]
        for ghost in ghosts:
            p.setCollisionFilterGroupMask(ghost, -1, 0, 0, physicsClientId=client)
        boxes = np.array([p.getAABB(ghost, physicsClientId=client) for ghost in ghosts]).reshape(-1, 2, 3)
        blocked = [
            bool(np.any(np.all((box[0] < self.start_boxes[:, 1]) & (self.start_boxes[:, 0] < box[1]), axis=1)))
            for box in boxes
        ]
        first: list[int | None] = [None] * len(spots)
        closest = np.full(len(spots), np.inf)
        track = self.track
        for t in range(len(track.positions)):
            # Gap between bounding boxes: a cheap lower bound that spares the exact query for far ghosts.
            gaps = np.linalg.norm(
                np.maximum(0.0, np.maximum(boxes[:, 0] - track.high[t], track.low[t] - boxes[:, 1])), axis=1
            )
            near = np.flatnonzero(gaps < REPORT_DISTANCE)
            if not len(near):
                continue
            p.resetBasePositionAndOrientation(
                agent, track.positions[t].tolist(), track.orientations[t].tolist(), physicsClientId=client
            )
            for k in near:
                points = p.getClosestPoints(agent, ghosts[k], REPORT_DISTANCE, physicsClientId=client)
                if not points:
                    continue
                distance = min(point[8] for point in points)
                closest[k] = min(closest[k], distance)
                if first[k] is None and distance <= TOUCH_DISTANCE:
                    first[k] = t
        return [SpotOutcome(spot, first[k], float(closest[k]), blocked[k]) for k, spot in enumerate(spots)]


def choose_spot(rng: np.random.Generator, outcomes: Sequence[SpotOutcome], want_label: bool) -> Spot | None:
    """A spot that gives the wanted outcome in the rehearsal, or None when no spot does.

    Positives: first touch at or after ``EARLIEST_FRAME``. Negatives: never touched, preferring near misses. Spots
    that would overlap another body at the start are never chosen.
    """
    outcomes = [o for o in outcomes if not o.blocked]
    if want_label:
        good = [o for o in outcomes if o.first_touch is not None and o.first_touch >= EARLIEST_FRAME]
    else:
        missed = [o for o in outcomes if o.first_touch is None and o.closest >= NEAR_MISS[0]]
        good = [o for o in missed if o.closest <= NEAR_MISS[1]] or missed
    if not good:
        return None
    return good[int(rng.integers(len(good)))].spot


def floor_spots(
    rng: np.random.Generator,
    track: Track,
    want_label: bool,
    reach: float,
    camera: Camera | None,
    count: int = 24,
    low: float = 0.08,
    within: float = np.inf,
) -> list[Spot]:
    """Candidate spots for a patient of horizontal radius ``reach`` standing on the floor, within ``within`` metres
    of the origin (far spots look tiny) and in ``camera``'s view (None: for scenes whose camera follows the patient).

    Positives: just ahead of the agent (along its motion) at frames after the observed ones where it is within
    ``low`` metres of the floor; the replay then keeps the spots it reaches only late. Negatives: beside the agent's
    late path, a little more than ``reach`` away from it.
    """
    frames = np.arange(len(track.positions))
    late = frames >= EARLIEST_FRAME
    spots = []
    if want_label:
        landing = np.flatnonzero(late & (track.low[:, 2] < low))
        if not len(landing):
            return []
        heading = np.gradient(track.positions[:, :2], axis=0)
        for _ in range(count):
            t = int(rng.choice(landing))
            forward = heading[t] / max(float(np.linalg.norm(heading[t])), 1e-9)
            side = np.array([-forward[1], forward[0]])
            centre = (
                track.positions[t, :2] + forward * reach * rng.uniform(0.3, 1.0) + side * reach * rng.uniform(-0.5, 0.5)
            )
            spots.append(Spot(float(centre[0]), float(centre[1]), float(rng.uniform(0, np.pi))))
    else:
        for _ in range(count):
            anchor = track.positions[int(rng.choice(np.flatnonzero(late))), :2]
            angle = rng.uniform(0.0, 2.0 * np.pi)
            distance = reach + rng.uniform(0.1, 0.45)
            spots.append(
                Spot(
                    float(anchor[0] + distance * np.cos(angle)),
                    float(anchor[1] + distance * np.sin(angle)),
                    float(rng.uniform(0, np.pi)),
                )
            )
    spots = [spot for spot in spots if np.hypot(spot.x, spot.y) <= within]
    return spots if camera is None else in_view(spots, camera)


def in_view(spots: list[Spot], camera: Camera, margin: float = 0.85) -> list[Spot]:
    """The spots whose floor point projects inside ``margin`` of ``camera``'s image (normalised coordinates)."""
    if not spots:
        return []
    image = camera.project(np.array([(spot.x, spot.y, 0.0) for spot in spots]))
    keep = np.all(np.abs(image) <= margin, axis=1)
    return [spot for spot, ok in zip(spots, keep) if ok]


@dataclass
class Plan:
    """One drawn layout of a scene, ready to build with the patient at any spot.

    build_at(world, spot):     builds the whole scene (the same bodies in the same order on every call).
    make_patient(world, spot): builds just the patient.
    propose(rng, track, want): candidate spots given the agent's rehearsed track (e.g. ``floor_spots``).
    default:                   the spot to use without a hint (draw it at random).
    """

    build_at: Callable[[World, Spot], "SceneObjects"]
    make_patient: Callable[[World, Spot], int]
    propose: Callable[[np.random.Generator, Track, bool], list[Spot]]
    default: Spot


def floor_patient_plan(
    scenario: "Scenario", layout, rng: np.random.Generator, x_range: tuple[float, float], y_range: tuple[float, float]
) -> Plan:
    """The plan of a scene whose patient stands on the floor: a free spot in ``x_range`` x ``y_range`` by default,
    rehearsed floor spots under a hint. ``layout`` has ``patient`` (a Part), ``patient_mass``, ``patient_material``
    and ``taken`` (occupied discs); ``scenario`` builds with ``_place(world, layout, spot)``, whose patient (like
    the rehearsal's) is ``props.patient_on_floor``."""
    reach = half_width(layout.patient)
    spot = free_spot(rng, layout.taken, reach, x_range, y_range, tries=200)
    if spot is None:
        raise RejectedTrial("no free floor spot for the patient")
    camera = Camera.nominal(scenario.camera_rig)
    return Plan(
        build_at=lambda w, at: scenario._place(w, layout, at),
        make_patient=lambda w, at: patient_on_floor(w, layout, at),
        propose=lambda r, track, want: floor_spots(
            r, track, want, reach, camera, low=2.0 * half_height(layout.patient)
        ),
        default=Spot(*spot, float(rng.uniform(0, np.pi))),
    )


def ring_zone_plan(scenario: "Scenario", layout, rng: np.random.Generator, inner: float, width: float) -> Plan:
    """The plan of a scene whose zone (patient) lies on the floor at a distance in [inner, inner + width] from the
    scene's centre, in any direction but the ball's run-up. ``layout`` has ``zone_half`` (x, y half extents);
    ``scenario`` builds with ``_place(world, layout, spot)`` and ``_zone(world, layout, spot)``."""
    zone_reach = float(np.hypot(layout.zone_half[0], layout.zone_half[1]))
    radius = float(rng.uniform(inner + zone_reach, inner + zone_reach + width))
    angle = float(rng.uniform(-0.75 * np.pi, 0.75 * np.pi))  # not under the ball's run-up
    camera = Camera.nominal(scenario.camera_rig)
    return Plan(
        build_at=lambda w, spot: scenario._place(w, layout, spot),
        make_patient=lambda w, spot: scenario._zone(w, layout, spot),
        propose=lambda r, track, want: floor_spots(r, track, want, zone_reach, camera),
        default=Spot(radius * np.cos(angle), radius * np.sin(angle), float(rng.uniform(0.0, np.pi))),
    )


def build_with_patient(
    scenario: "Scenario",
    world: World,
    rng: np.random.Generator,
    want_label: bool | None,
    draw: Callable[[], Plan],
    attempts: int = 3,
) -> "SceneObjects":
    """Build a scene in ``world`` with the patient at a spot that follows the hint.

    Without a hint: one ``draw()``, patient at its default spot. With one: up to ``attempts`` layouts are drawn and
    rehearsed until one has a spot giving the wanted outcome (cheaper than a whole rejected trial: no rendering);
    if none has, the last layout with its default spot (the caller's rejection sampling handles the rest).
    The scene's params record ``patient_spot``, ``placement`` and ``layouts_rehearsed``.
    """
    plan = draw()
    spot, placement, tried = plan.default, "random", 0
    while want_label is not None and tried < attempts:
        if tried:
            plan = draw()
        tried += 1
        with Rehearsal(scenario, world, plan.build_at) as rehearsal:
            spots = plan.propose(rng, rehearsal.track, want_label)
            chosen = choose_spot(rng, rehearsal.evaluate(plan.make_patient, spots), want_label) if spots else None
        if chosen is not None:
            spot, placement = chosen, "rehearsed"
            break
        spot, placement = plan.default, "random: no rehearsed spot fits"
    scene = plan.build_at(world, spot)
    scene.params.update(
        {
            "patient_spot": {"x": spot.x, "y": spot.y, "yaw": spot.yaw},
            "placement": placement,
            "layouts_rehearsed": tried,
        }
    )
    return scene
