"""Bench harness of the crane: picks and places between yard slots and a vehicle's deck with the physics in
the loop, seeded; fault injection with a history checker; figures. No ROS; `smartgate bench crane` calls
`bench_crane` and prints its dict.

The loop (`CraneWorld.run`) is what a world simulator does on its clock: the executor reads the sensors
and the vehicle's report and answers a command; the world applies it, steps the physics, sets the deck
pose from the vehicle, and renders the cameras only when the command asks for a capture. Every period
the truth is recorded; after the run a checker goes over that history for unsafe actions (Jepsen-style)
and dropped boxes. A run repeats exactly from its seed.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np

from .alignment import VisionAlignment
from .config import CraneConfig
from .control import MotionTracker
from .cycle import CANCELLED, FAILED, PICK, RUNNING, STOPPING, SUCCEEDED, CycleExecutor, CycleParams, Lift
from .interface import UNLOCK, CraneCommand, VehicleReport
from .interlocks import InterlockParams
from .layout import CONTAINER_WIDTH_M, Obstacle, Pose2D, Site, default_layout
from .motion import LoadShape, PlanLimits, Waypoint, plan_transfer, plan_vertical
from .params import GRAVITY_MPS2, CraneParams
from .physics import CranePhysics, Gust, WorldContainer

CONTROL_PERIOD_S = 0.02
BOX_TYPES = ((6.058, 2.591), (12.192, 2.591), (12.192, 2.896))     # 20 ft, 40 ft, 40 ft high cube
FAULTS = ('vehicle_moves', 'twistlock_fails', 'overweight', 'camera_lost', 'estop', 'stale_sensor')
VEHICLE_ID = 'igv_bay'


@dataclass
class BayVehicle:
    """The vehicle stopped at the bay as the harness simulates it: the deck's true pose (the stop error),
    its report (localization noise), the hold handshake, and a fault that makes it drive off."""

    stop: Pose2D
    rng: np.random.Generator
    report_sigma_m: float = 0.01
    report_sigma_rad: float = 0.001
    speed_mps: float = 0.0
    moves_at_s: float | None = None
    held: bool = False

    def step(self, t_s: float, dt_s: float, hold_request: str | None):
        self.held = hold_request == VEHICLE_ID and self.speed_mps == 0.0
        if self.moves_at_s is not None and t_s >= self.moves_at_s:
            self.held = False
            self.speed_mps = min(self.speed_mps + 0.5 * dt_s, 0.5)
            self.stop = Pose2D(self.stop.x_m + self.speed_mps * dt_s, self.stop.y_m, self.stop.yaw_rad)

    def report(self, t_s: float) -> VehicleReport:
        n = self.rng.standard_normal(3)
        return VehicleReport(VEHICLE_ID, t_s, self.stop.x_m + self.report_sigma_m * n[0],
                             self.stop.y_m + self.report_sigma_m * n[1],
                             self.stop.yaw_rad + self.report_sigma_rad * n[2], self.speed_mps, self.held)


def vision_alignment(physics: CranePhysics, seed: int) -> VisionAlignment:
    """crane.vision's fiducial estimator on the rendered spreader-camera images (deterministic: the seed
    is not needed)."""
    del seed
    return VisionAlignment(physics.fiducials, physics.cameras)


@dataclass(frozen=True)
class Scenario:
    """One bench run: a box moved from a yard slot onto the vehicle, then from the vehicle to another slot."""

    seed: int
    length_m: float
    height_m: float
    mass_kg: float
    declared_mass_kg: float
    cog_m: tuple
    stop_error: Pose2D
    slot_error: Pose2D
    gust: Gust | None
    fault: str | None = None
    fault_at: float = 0.0          # fault timing parameter (0..1 of the phase window it applies to)
    jammed_corner: int = 0
    frozen_group: str = 'encoders'
    neighbour_height_m: float = 2.896

    @classmethod
    def random(cls, seed: int, fault: str | None = None) -> 'Scenario':
        rng = np.random.default_rng(seed)
        length, height = BOX_TYPES[rng.integers(len(BOX_TYPES))]
        mass = float(rng.uniform(2200.0, 32500.0))
        cog = (float(rng.uniform(-0.05, 0.05) * length), float(rng.uniform(-0.1, 0.1))) if rng.random() < 0.5 \
            else (0.0, 0.0)
        stop = Pose2D(float(np.clip(rng.normal(0.0, 0.015), -0.04, 0.04)),
                      float(np.clip(rng.normal(0.0, 0.01), -0.03, 0.03)),
                      float(np.clip(rng.normal(0.0, 0.002), -0.005, 0.005)))
        slot = Pose2D(float(rng.uniform(-0.01, 0.01)), float(rng.uniform(-0.01, 0.01)),
                      float(rng.uniform(-0.002, 0.002)))
        gust = None
        if rng.random() < 0.5:                 # 8-15 m/s gusts (cranes work up to ~20 m/s)
            gust = Gust(float(rng.uniform(5.0, 60.0)), float(rng.uniform(3.0, 8.0)), float(rng.uniform(8.0, 15.0)),
                        float(rng.uniform(0.0, 2.0 * math.pi)))
        declared = mass * (1.0 + float(rng.uniform(-0.02, 0.02)))
        if fault == 'overweight':
            declared = mass / float(rng.uniform(1.1, 1.4))
        return cls(seed, length, height, mass, declared, cog, stop, slot, gust, fault, float(rng.uniform(0.1, 0.9)),
                   int(rng.integers(4)), ('encoders', 'sway', 'load', 'switches')[rng.integers(4)])


@dataclass
class MoveRecord:
    source: str
    target: str
    cycle_s: float
    rigid_s: float
    placement_error_m: float
    placement_skew_deg: float


@dataclass
class RunRecord:
    seed: int
    fault: str | None
    aligned: bool
    moves: list = field(default_factory=list)
    refusal_rule: str = ''
    refusal_reason: str = ''
    violations: list = field(default_factory=list)
    dropped: int = 0
    sim_s: float = 0.0
    wall_s: float = 0.0
    physics_rtf: float = 0.0


class CraneWorld:
    """The bay's world side for a bench run: physics, the vehicle, the clock; plus the history."""

    def __init__(self, config: CraneConfig, boxes, vehicle: BayVehicle, seed: int, start_z_m: float):
        self.layout, self.vehicle = config.layout, vehicle
        self.physics = CranePhysics(config.crane, config.layout, boxes, seed=seed, physics=config.physics,
                                    cameras=config.camera, start_spreader_z_m=start_z_m, vehicle_pose=vehicle.stop)
        self.physics.step(0.5)                                  # let the boxes settle on their supports
        self.history: list = []
        self.estop_at_s: float | None = None
        self.events: dict = {}

    def run(self, executor: CycleExecutor, until, timeout_s: float, on_tick=None):
        """Closed loop until `until(executor)` or the timeout; `on_tick(world, executor)` injects faults."""
        p = self.physics
        sensors = p.sensors()
        t_end = p.t_s + timeout_s
        while p.t_s < t_end and not until(executor):
            t = p.t_s
            if on_tick:
                on_tick(self, executor)
            estop = self.estop_at_s is not None and t >= self.estop_at_s
            command = executor.step(t, sensors, self.vehicle.report(t), estop)
            p.apply(command)
            p.step(CONTROL_PERIOD_S)
            self.vehicle.step(p.t_s, CONTROL_PERIOD_S, command.hold_vehicle)
            p.set_vehicle_pose(self.vehicle.stop)
            sensors = p.sensors()
            if command.capture:
                sensors = replace(sensors, frames=p.capture())
            self.history.append((t, command, p.truth(), executor.status.phase, self.vehicle.speed_mps))


def _obstacles(world: CraneWorld, exclude: str, boxes) -> list:
    """The crane's view of the bay (the terminal's inventory): boxes standing where the truth has them
    (their nominal slots), and the vehicle's deck."""
    bay = world.layout.bay
    truth = world.physics.truth()
    out = [Obstacle(Pose2D(), bay.deck_length_m, bay.deck_width_m, bay.deck_height_m)]
    for box in boxes:
        tb = truth.containers[box.container_id]
        if box.container_id == exclude or not tb.supported:
            continue
        out.append(Obstacle(tb.pose, box.length_m, CONTAINER_WIDTH_M, tb.z_m + box.height_m))
    return out


def rigid_cycle_s(crane: CraneParams, cycle: CycleParams, start: Waypoint, source: Site, target: Site, lift: Lift,
                  pick_obstacles, place_obstacles, aligned_pick: bool, aligned_place: bool) -> float:
    """The time-optimal cycle of a rigid load along the same path under the same limits: unshaped
    time-optimal transfers overlapping hoist and travel by the same clearance rule, plus the same process
    times (landing creep and touch-down, twistlocks, take-up and weighing, one fine-positioning
    measurement where the real cycle measures). Not included: settling, correction moves, landing
    pauses, re-measurements."""
    def vertical(z0, z1, speed):
        return plan_vertical(Waypoint(0, 0, z0), z1, speed, crane.hoist_accel_mps2, crane).duration_s
    empty = LoadShape(lift.length_m, CONTAINER_WIDTH_M, 0.0)
    z_pick = source.surface_z_m + lift.height_m
    z_place = target.surface_z_m + lift.height_m
    hover_pick = Waypoint(source.pose.x_m, source.pose.y_m, z_pick + cycle.hover_m)
    t = plan_transfer(start, hover_pick, empty, pick_obstacles, PlanLimits(crane, False, 'none'),
                      cycle.clearance_m).duration_s
    t += cycle.measure_time_s if aligned_pick else 0.0
    landing = cycle.touchdown_s + crane.twistlock_time_s         # touch-down, then the twistlocks turn
    t += vertical(z_pick + cycle.hover_m, z_pick, cycle.landing_speed_mps) + landing
    t += vertical(z_pick, z_pick + cycle.lift_off_m, cycle.take_up_speed_mps) + cycle.weigh_settle_s + cycle.weigh_s
    t += vertical(z_pick + cycle.lift_off_m, z_pick + cycle.clearance_m, crane.hoist_speed_laden_mps)
    clear = Waypoint(source.pose.x_m, source.pose.y_m, z_pick + cycle.clearance_m)
    hover_place = Waypoint(target.pose.x_m, target.pose.y_m, z_place + cycle.hover_m)
    t += plan_transfer(clear, hover_place, lift.shape(), place_obstacles, PlanLimits(crane, True, 'none'),
                       cycle.clearance_m).duration_s
    t += cycle.measure_time_s if aligned_place else 0.0
    t += vertical(z_place + cycle.hover_m, z_place, cycle.landing_speed_mps) + landing
    t += vertical(z_place, z_place + cycle.clearance_m, crane.hoist_speed_empty_mps)
    return t


def placement_error(truth, box_id: str, target: Site) -> tuple[float, float]:
    """Planar offset [m] and heading error [deg] of a box's bottom centre from its target (the deck's
    true pose for a vehicle, the slot's pose for a slot)."""
    tb = truth.containers[box_id]
    ref = truth.deck if target.kind == 'vehicle' else target.pose
    c, s = math.cos(ref.yaw_rad), math.sin(ref.yaw_rad)
    dx, dy = tb.pose.x_m - ref.x_m, tb.pose.y_m - ref.y_m
    along, across = c * dx + s * dy, -s * dx + c * dy
    skew = (tb.pose.yaw_rad - ref.yaw_rad + 0.5 * math.pi) % math.pi - 0.5 * math.pi
    return math.hypot(along, across), abs(math.degrees(skew))


# ---------------------------------------------------------------------- the history checker
def check_history(history, boxes, declared_kg: dict, cycle: CycleParams, interlock: InterlockParams,
                  crane: CraneParams, events: dict) -> tuple[list, int]:
    """Unsafe actions and dropped boxes in a run's recorded history (truth and commands):
    - unlock commanded while a locked box does not stand on anything;
    - a box lifted beyond its weighing height while not all four twistlocks held it, or while its real
      mass is outside the VGM tolerance of its declaration;
    - lowering over a moving vehicle longer than the reaction allowance;
    - any drive command or twistlock change after an e-stop, or a drive command after a sensor froze
      (beyond the stale timeout and the allowance);
    - with a lost camera, the spreader lowered below the hover point over the deck;
    and a box dropped: it lost its locks while not standing on anything, or it falls."""
    violations, dropped = [], set()
    allowance_s = 0.5
    mass = {b.container_id: b.mass_kg for b in boxes}
    rest_z = {}
    prev = None
    moving_since = None
    for t, command, truth, phase, vehicle_speed in history:
        for cid, tb in truth.containers.items():
            if tb.supported:
                rest_z[cid] = tb.z_m
            if command.twistlocks == UNLOCK and tb.locked_corners and not tb.supported and cid not in dropped:
                violations.append(f'{t:.2f}: unlock commanded with {cid} in the air')
            lifted = tb.z_m - rest_z.get(cid, tb.z_m)
            if not tb.supported and lifted > cycle.lift_off_m + 0.05:
                if tb.locked_corners < 4:
                    violations.append(f'{t:.2f}: {cid} hoisted with {tb.locked_corners} twistlocks')
                elif abs(mass[cid] - declared_kg[cid]) > interlock.vgm_tolerance * declared_kg[cid]:
                    violations.append(f'{t:.2f}: {cid} hoisted with a mass outside its declaration')
            if prev is not None:
                before = prev.containers[cid]
                if before.locked_corners and not tb.locked_corners and not tb.supported:
                    dropped.add(cid)
                if not tb.locked_corners and not tb.supported and before.z_m - tb.z_m > 0.03:
                    dropped.add(cid)
        over_deck = abs(truth.spreader.x_m - truth.deck.x_m) < 7.5 and abs(truth.spreader.y_m - truth.deck.y_m) < 1.5
        descending = prev is not None and truth.spreader_z_m < prev.spreader_z_m - 0.002
        if vehicle_speed > 0.0:
            moving_since = t if moving_since is None else moving_since
            if over_deck and descending and truth.spreader_z_m < 9.0 and t - moving_since > allowance_s:
                violations.append(f'{t:.2f}: lowering over a moving vehicle')
        estop = events.get('estop')
        if estop is not None and t > estop + 2 * CONTROL_PERIOD_S and (not command.is_still() or command.twistlocks):
            violations.append(f'{t:.2f}: drives commanded after the e-stop')
        frozen = events.get('frozen')
        if frozen is not None and t > frozen + interlock.sensor_timeout_s + allowance_s and not command.is_still():
            violations.append(f'{t:.2f}: drives commanded on a stale sensor')
        lost = events.get('camera_lost')
        if lost is not None and t > lost and over_deck and \
                truth.spreader_z_m < events['deck_hover_z'] - 0.1 and events.get('aligned_after_loss') is None:
            violations.append(f'{t:.2f}: lowered onto the deck without a camera')
        prev = truth
    return violations, len(dropped)


# ---------------------------------------------------------------------- one run
def run_cycle(scenario: Scenario, config: CraneConfig = CraneConfig(), alignment_factory=None) -> RunRecord:
    """Move a box from slot_1 onto the vehicle's deck, then from the deck to slot_3 (a second box stands in
    slot_2); with an alignment provider made by `alignment_factory(physics, seed)`, else blind."""
    crane, cycle, interlock, layout = config.crane, config.cycle, config.interlock, config.layout
    rng = np.random.default_rng(scenario.seed + 1)
    slot1, slot3 = layout.slot('slot_1'), layout.slot('slot_3')
    deck_site = layout.vehicle_site(VEHICLE_ID)
    s1 = slot1.pose
    box = WorldContainer('A', scenario.length_m, scenario.height_m, scenario.mass_kg,
                         Pose2D(s1.x_m + scenario.slot_error.x_m, s1.y_m + scenario.slot_error.y_m,
                                s1.yaw_rad + scenario.slot_error.yaw_rad), 0.0, scenario.cog_m)
    neighbour = WorldContainer('B', 12.192, scenario.neighbour_height_m, 20000.0, layout.slot('slot_2').pose, 0.0)
    boxes = (box, neighbour)
    vehicle = BayVehicle(scenario.stop_error, rng)
    start_z = layout.bay.deck_height_m + 2.896 + cycle.clearance_m
    world = CraneWorld(config, boxes, vehicle, scenario.seed, start_z)
    if scenario.gust:
        world.physics.add_gust(scenario.gust)
    provider = alignment_factory(world.physics, scenario.seed) if alignment_factory else None
    executor = CycleExecutor(crane, cycle, config.control, interlock, provider)
    record = RunRecord(scenario.seed, scenario.fault, provider is not None)
    declared = {'A': scenario.declared_mass_kg, 'B': neighbour.mass_kg}
    lift = ('A', scenario.length_m, scenario.height_m, scenario.declared_mass_kg)
    on_tick = _fault_injector(scenario, world, cycle) if scenario.fault else None
    wall = time.perf_counter()
    legs = ((slot1, deck_site), (deck_site, slot3))
    for source, target in legs:
        t0 = world.physics.t_s
        start = _waypoint(world.physics.sensors(), crane)
        pick_obstacles = _obstacles(world, '', boxes)
        if executor.pick(source, *lift, obstacles=pick_obstacles) is not None:
            break
        world.run(executor, _finished, 300.0, on_tick)
        if executor.status.state != SUCCEEDED:
            break
        place_obstacles = _obstacles(world, 'A', boxes)
        executor.place(target, obstacles=place_obstacles)
        world.run(executor, _finished, 300.0, on_tick)
        if executor.status.state != SUCCEEDED:
            break
        world.run(executor, lambda e, t_end=world.physics.t_s + 1.0: world.physics.t_s >= t_end, 2.0)
        truth = world.physics.truth()
        err, skew = placement_error(truth, 'A', target)
        aligned = provider is not None
        rigid = rigid_cycle_s(crane, cycle, start, source, target, Lift(*lift), pick_obstacles, place_obstacles,
                              aligned, aligned and target.kind == 'vehicle')
        cycle_s = executor.status.phase_log[-1][0] - t0         # the place ends holding, clear of the box
        record.moves.append(MoveRecord(source.site_id, target.site_id, cycle_s, rigid, err, skew))
    status = executor.status
    if status.state in (FAILED, CANCELLED):
        record.refusal_rule, record.refusal_reason = status.rule, status.reason
        world.run(executor, lambda e: False, 5.0, on_tick)          # and nothing moves afterwards
    record.violations, record.dropped = check_history(world.history, boxes, declared, cycle, interlock, crane,
                                                      world.events)
    record.sim_s = world.physics.t_s
    record.wall_s = time.perf_counter() - wall
    record.physics_rtf = world.physics.realtime_factor()
    world.physics.close()
    return record


def _finished(executor: CycleExecutor) -> bool:
    return executor.status.state not in (RUNNING, STOPPING)


def _waypoint(sensors, crane: CraneParams) -> Waypoint:
    return Waypoint(sensors.gantry_m, sensors.trolley_m, crane.height_for_rope(sensors.rope_m), sensors.skew_rad)


def _fault_injector(scenario: Scenario, world: CraneWorld, cycle: CycleParams):
    """Inject the scenario's fault at its moment (the harness sees the executor's phase, the executor does
    not see the harness)."""
    physics, fault = world.physics, scenario.fault
    state = {'done': False}

    def on_tick(w: CraneWorld, executor: CycleExecutor):
        status = executor.status
        if state['done']:
            if fault == 'camera_lost' and status.phase == 'land' and 'aligned_after_loss' not in w.events:
                w.events['aligned_after_loss'] = physics.t_s
            return
        place_on_deck = status.task == 'place' and status.site == VEHICLE_ID
        if fault == 'vehicle_moves' and place_on_deck and status.phase in ('settle', 'measure', 'correct', 'land'):
            if status.phase == 'land' or scenario.fault_at < 0.5:
                w.vehicle.moves_at_s = physics.t_s
                state['done'] = True
        elif fault == 'twistlock_fails' and status.task == PICK:
            physics.faults.jammed_twistlocks = frozenset({scenario.jammed_corner})
            state['done'] = True
        elif fault == 'camera_lost' and place_on_deck and status.phase == 'travel':
            physics.faults.cameras_lost_at_s = physics.t_s
            w.events['camera_lost'] = physics.t_s
            w.events['deck_hover_z'] = w.layout.bay.deck_height_m + scenario.height_m + cycle.hover_m
            state['done'] = True
        elif fault == 'estop' and physics.t_s >= 5.0 + 40.0 * scenario.fault_at:
            w.estop_at_s = physics.t_s
            w.events['estop'] = physics.t_s
            state['done'] = True
        elif fault == 'stale_sensor' and physics.t_s >= 5.0 + 40.0 * scenario.fault_at:
            physics.faults.frozen_at_s[scenario.frozen_group] = physics.t_s
            w.events['frozen'] = physics.t_s
            state['done'] = True
    return on_tick


# ---------------------------------------------------------------------- sway residual of single moves
@dataclass
class SwayRecord:
    axis: str
    rope_m: float
    payload_kg: float
    shaped: bool
    gust: bool
    residual_m: float


def run_sway_move(seed: int, axis: str, rope_m: float, payload_kg: float, shaped: bool, gust: bool,
                  config: CraneConfig = CraneConfig()) -> SwayRecord:
    """A full-speed travel of the trolley (10 m) or the gantry (20 m) at one rope length and payload; the
    spreader's sway amplitude (truth) 3 s after the drive stops. Shaped: the crane's shaper and sway
    feedback; unshaped: a plain time-optimal trapezoid, no feedback (the baseline)."""
    rng = np.random.default_rng(seed)
    crane = config.crane
    control = config.control if shaped else replace(config.control, shaper='none', sway_feedback=False)
    z = crane.height_for_rope(rope_m)
    boxes = (WorldContainer('P', 12.192, 2.591, payload_kg, Pose2D(0.0, 0.0), 0.0,
                            (float(rng.uniform(-0.5, 0.5)), float(rng.uniform(-0.1, 0.1)))),) if payload_kg else ()
    physics = CranePhysics(crane, default_layout(slot_poses=(), bay=config.bay), boxes, seed=seed,
                           physics=config.physics, cameras=config.camera, start_trolley_m=-4.0, start_spreader_z_m=z,
                           vehicle_pose=Pose2D(0.0, -40.0))                  # no vehicle under this test
    if payload_kg:
        physics.attach('P')
    tracker = MotionTracker(crane, control)
    for _ in range(int(3.0 / CONTROL_PERIOD_S)):                       # settle with the position held
        sensors = physics.sensors()
        physics.apply(CraneCommand())
        tracker.observe(physics.t_s, sensors)
        physics.step(CONTROL_PERIOD_S)
    sensors = physics.sensors()
    start = _waypoint(sensors, crane)
    distance = 10.0 if axis == 'y' else 20.0
    goal = Waypoint(start.x_m + (distance if axis == 'x' else 0.0), start.y_m + (distance if axis == 'y' else 0.0),
                    start.z_m)
    limits = PlanLimits(crane, payload_kg > 0, control.shaper, control.shaper_damping, control.ei_tolerance)
    motion = plan_transfer(start, goal, LoadShape(12.192, CONTAINER_WIDTH_M, 0.0), (), limits, 0.5)
    if gust:                                   # 12 m/s across the travel, during it
        physics.add_gust(Gust(physics.t_s + float(rng.uniform(0.3, 0.8)) * motion.travel_end_s, 4.0, 12.0,
                              0.5 * math.pi if axis == 'x' else 0.0))
    t0 = physics.t_s
    tracker.start(motion, t0)
    stop_s, residual = None, None
    while physics.t_s < t0 + motion.duration_s + 15.0:
        sensors = physics.sensors()
        tracker.observe(physics.t_s, sensors)
        vx, vy, vz, vk = tracker.command(physics.t_s, sensors)
        physics.apply(CraneCommand(vx, vy, vz, vk))
        physics.step(CONTROL_PERIOD_S)
        truth = physics.truth()
        if stop_s is None and physics.t_s >= t0 + motion.travel_end_s:
            stop_s = physics.t_s
        if stop_s is not None and physics.t_s >= stop_s + 3.0:
            w = math.sqrt(GRAVITY_MPS2 / truth.rope_m)
            residual = math.hypot(math.hypot(truth.sway_m[0], truth.sway_mps[0] / w),
                                  math.hypot(truth.sway_m[1], truth.sway_mps[1] / w))
            break
    physics.close()
    return SwayRecord(axis, rope_m, payload_kg, shaped, gust, residual)


# ---------------------------------------------------------------------- figures
def p95(values) -> float:
    return float(np.percentile(values, 95)) if len(values) else float('nan')


def bench_crane(seeds=range(4), config: CraneConfig = CraneConfig(), alignment_factory=vision_alignment,
                alignment_name: str = 'crane.vision (ArUco fiducials, both spreader cameras)', faults: bool = True,
                sway_ropes=(6.0, 10.0, 14.0), sway_payloads=(0.0, 15000.0, 32500.0)) -> dict:
    """Every figure of the crane bench (module doc); seeds make every run repeatable. Per seed: one
    blind run and, with a provider, one aligned run of the two-move cycle; one run per fault kind; sway
    moves over rope lengths, payloads, axes, with and without a gust, shaped and unshaped."""
    blind, aligned, fault_runs, sway = [], [], [], []
    for seed in seeds:
        blind.append(run_cycle(Scenario.random(seed), config))
        if alignment_factory:
            aligned.append(run_cycle(Scenario.random(seed), config, alignment_factory))
        if faults:
            for k, fault in enumerate(FAULTS):
                factory = alignment_factory if fault == 'camera_lost' else None
                fault_runs.append(run_cycle(Scenario.random(1000 * (seed + 1) + k, fault), config, factory))
        for rope in sway_ropes:
            for payload in sway_payloads:
                for axis in ('x', 'y'):
                    gust = bool((seed + len(sway) // 2) % 2)
                    for shaped in (True, False):
                        sway.append(run_sway_move(seed, axis, rope, payload, shaped, gust, config))
    summary = summarize(blind, aligned, fault_runs, sway)
    summary.update(seeds=list(seeds), alignment=alignment_name if alignment_factory else 'blind')
    return summary


def summarize(blind: list, aligned: list, fault_runs: list, sway: list) -> dict:
    """The bench's figures from its records (aligned runs give the placement figures when there are
    any; every run counts for violations, drops and the real-time factor)."""
    nominal = aligned or blind
    moves = [m for r in nominal for m in r.moves]
    all_runs = blind + aligned + fault_runs
    cycle_s = float(np.mean([m.cycle_s for m in moves])) if moves else float('nan')
    rigid_s = float(np.mean([m.rigid_s for m in moves])) if moves else float('nan')
    sim = sum(r.sim_s for r in all_runs)
    return {
        'runs': {'nominal_blind': len(blind), 'nominal_aligned': len(aligned), 'fault': len(fault_runs),
                 'sway_moves': len(sway), 'moves': len(moves)},
        'sway_residual_p95_m': p95([r.residual_m for r in sway if r.shaped]),
        'unshaped_sway_residual_p95_m': p95([r.residual_m for r in sway if not r.shaped]),
        'cycle_time_s': cycle_s, 'rigid_cycle_time_s': rigid_s, 'cycle_time_ratio': cycle_s / rigid_s,
        'cycle_time_ratio_p95': p95([m.cycle_s / m.rigid_s for m in moves]),
        'blind_cycle_time_ratio': (sum(m.cycle_s for r in blind for m in r.moves)
                                   / sum(m.rigid_s for r in blind for m in r.moves)) if blind else float('nan'),
        'moves_per_hour': 3600.0 / cycle_s,
        'placement_error_p95_m': p95([m.placement_error_m for m in moves]),
        'placement_skew_p95_deg': p95([m.placement_skew_deg for m in moves]),
        'deck_placement_error_p95_m': p95([m.placement_error_m for m in moves if m.target == VEHICLE_ID]),
        'slot_placement_error_p95_m': p95([m.placement_error_m for m in moves if m.target != VEHICLE_ID]),
        'blind_placement_error_p95_m': p95([m.placement_error_m for r in blind for m in r.moves]),
        'blind_deck_placement_error_p95_m': p95([m.placement_error_m for r in blind for m in r.moves
                                                 if m.target == VEHICLE_ID]),
        'incomplete_nominal_runs': [(r.seed, r.refusal_rule, r.refusal_reason) for r in blind + aligned
                                    if len(r.moves) < 2],
        'fault_refusals': [(r.fault, r.refusal_rule, r.refusal_reason) for r in fault_runs],
        'interlock_violations': sum(len(r.violations) for r in all_runs),
        'violation_examples': [v for r in all_runs for v in r.violations][:10],
        'dropped_containers': sum(r.dropped for r in all_runs),
        'physics_realtime_factor': sim / sum(r.sim_s / r.physics_rtf for r in all_runs) if all_runs else float('nan'),
        'loop_realtime_factor': sim / sum(r.wall_s for r in all_runs) if all_runs else float('nan'),
    }
