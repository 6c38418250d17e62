"""The pick and place cycle: pure logic on sensor readings and time, deterministic.

`CycleExecutor.step(t, sensors, vehicle, estop)` is called every control period and answers a
CraneCommand. A pick runs: travel (hoist clear, travel, lower to a hover point above the box) -> settle
(sway below a threshold) -> fine positioning (alignment provider, or blind) -> land (slow) -> lock ->
take up (lift a few cm) -> weigh -> hoist clear of the support. A place runs: travel -> settle -> fine
positioning -> land (until the ropes go slack) -> unlock -> hoist the empty spreader clear.

The final lowering creeps down; within a gate above touch-down it pauses while the spreader is off its
target or sways beyond the limit (a gust) and goes on when it is back; a touch-down counts once the
landing pins (and, with a box, the slack ropes) have said so for a moment.

Interlocks (see interlocks.py) are checked every period. A refusal ends the task with its reason and a
safe action that never drops a box: 'freeze' (e-stop, stale sensor: all drives to zero where they are),
'raise' (stop, then hoist to a height clear of everything below and hold, locks unchanged),
'set_down' (an unweighed box goes back down, is unlocked once landed, the spreader hoisted) and
'release' (a landed box is unlocked, the spreader hoisted). Cancel takes the same safe actions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..params import doc
from . import interlocks as rules
from .alignment import AlignmentProvider, AlignmentRequest
from .control import ControlParams, MotionTracker
from .interface import LOCK, UNLOCK, CraneCommand, CraneSensors, VehicleReport
from .interlocks import InterlockParams, Refusal
from .layout import CONTAINER_WIDTH_M, Pose2D, Site
from .motion import (LoadShape, PlanLimits, Waypoint, hold, plan_landing, plan_stop, plan_transfer, plan_vertical,
                     travel_height)
from .params import CraneParams

IDLE, RUNNING, STOPPING = 'idle', 'running', 'stopping'
SUCCEEDED, FAILED, CANCELLED = 'succeeded', 'failed', 'cancelled'
PICK, PLACE = 'pick', 'place'
# phases in which a fault or cancel may not simply raise the spreader (it sits on a box)
LANDED_PHASES = ('lock', 'take_up', 'weigh', 'unlock')
# phases during which the spreader is lowered onto a vehicle, or sits on it
VEHICLE_PHASES = ('start', 'travel', 'settle', 'measure', 'correct', 'land', 'land_paused', 'lock', 'take_up',
                  'weigh', 'unlock')
# progress (0..1) at the start and the end of each phase
PROGRESS = {PICK: {'start': (0.0, 0.0), 'travel': (0.0, 0.45), 'settle': (0.45, 0.5), 'measure': (0.5, 0.55),
                   'correct': (0.5, 0.55), 'land': (0.55, 0.65), 'land_paused': (0.55, 0.65),
                   'lock': (0.65, 0.75), 'take_up': (0.75, 0.8), 'weigh': (0.8, 0.85), 'hoist': (0.85, 1.0)},
            PLACE: {'start': (0.0, 0.0), 'travel': (0.0, 0.5), 'settle': (0.5, 0.55), 'measure': (0.55, 0.6),
                    'correct': (0.55, 0.6), 'land': (0.6, 0.75), 'land_paused': (0.6, 0.75),
                    'unlock': (0.75, 0.85), 'clear': (0.85, 1.0)}}


@dataclass(frozen=True)
class CycleParams:
    clearance_m: float = doc(0.5, 'margin over every obstacle while travelling, and over the support when clear [m]')
    hover_m: float = doc(0.4, 'the spreader stops this far above its landing height for fine positioning [m]')
    landing_speed_mps: float = doc(0.15, 'slow final landing [m/s]')
    land_tolerance_m: float = doc(0.015, 'within land_gate_m of touch-down, the descent pauses while the spreader is '
                                         'further than this from its target [m]')
    land_gate_m: float = doc(0.1, 'height above touch-down where the landing tolerance is enforced [m]')
    slack_speed_mps: float = doc(0.02, 'hoist pay-out while the spreader rests on a box (keeps the ropes slack) [m/s]')
    touchdown_s: float = doc(0.2, 'a touch-down counts once the pins (and, with a box, the slack ropes) say so '
                                  'this long [s]')
    landing_overtravel_m: float = doc(0.15, 'lowering this far below the expected landing without touching is a '
                                            'fault [m]')
    take_up_speed_mps: float = doc(0.05, 'lifting a box off its support to weigh it [m/s]')
    lift_off_m: float = doc(0.05, 'a box is weighed hanging this far above its support [m]')
    weigh_settle_s: float = doc(0.3, 'the box hangs still this long before weighing starts [s]')
    weigh_s: float = doc(1.0, 'load cell averaging while the box hangs still [s]')
    twistlock_timeout_s: float = doc(2.5, 'all four twistlocks must report within this after the command [s]')
    settle_sway_m: float = doc(0.03, 'the final lowering starts once the sway amplitude is below this [m]')
    settle_timeout_s: float = doc(20.0, 'the sway must settle within this [s]')
    remeasure_m: float = doc(0.05, 'an offset beyond this is corrected at the hover point and measured again [m]')
    align_attempts: int = doc(3, 'measure at most this often before giving up')
    measure_time_s: float = doc(0.2, 'capture and processing time of one fine-positioning measurement [s]')
    hold_wait_s: float = doc(2.0, 'a vehicle must confirm it holds for the crane within this [s]')


@dataclass(frozen=True)
class Lift:
    """The container being handled, as declared: id, length, height, declared gross mass (VGM)."""

    container_id: str
    length_m: float
    height_m: float
    declared_mass_kg: float

    def shape(self) -> LoadShape:
        return LoadShape(self.length_m, CONTAINER_WIDTH_M, self.height_m)


@dataclass(frozen=True)
class CycleStatus:
    task: str                 # 'pick', 'place' or ''
    site: str                 # the slot or vehicle of the task
    state: str                # idle, running, stopping (safe action), succeeded, failed, cancelled
    phase: str
    progress: float           # 0..1
    reason: str               # why it failed or was cancelled
    rule: str                 # the interlock that refused, if one did
    holding: str | None       # id of the container locked to the spreader
    phase_log: tuple = ()     # (t_s, phase) of every phase entered in this task


class CycleExecutor:
    """Runs one pick or place at a time, phase by phase, on sensor readings only."""

    def __init__(self, crane: CraneParams, cycle: CycleParams = CycleParams(), control: ControlParams = ControlParams(),
                 interlock: InterlockParams = InterlockParams(), alignment: AlignmentProvider | None = None):
        self.crane, self.params, self.control, self.rules = crane, cycle, control, interlock
        self.alignment = alignment
        self.tracker = MotionTracker(crane, control)
        self.holding: Lift | None = None
        self.weighed = False                    # the held box passed the hoisting interlock
        self._task = ''
        self._state, self._phase, self._reason, self._rule = IDLE, 'idle', '', ''
        self._progress = 0.0
        self._frozen = False
        self._log: list = []
        self._t = 0.0
        self._s: CraneSensors | None = None
        self._vehicle: VehicleReport | None = None
        self._hold_vehicle = None

    # ---------------------------------------------------------------- commands from outside
    def pick(self, site: Site, container_id: str, length_m: float, height_m: float, declared_mass_kg: float,
             obstacles=()) -> Refusal | None:
        """Pick a container from a yard slot or a vehicle's deck; obstacles are everything the load must
        clear on the way (boxes in slots, vehicles), the box itself included."""
        if self._state in (RUNNING, STOPPING) or self._frozen:
            return Refusal('busy', f'crane busy ({self._task} {self._phase})')
        if self.holding is not None:
            return Refusal('busy', f'spreader already holds {self.holding.container_id}')
        self._begin(PICK, site, Lift(container_id, length_m, height_m, declared_mass_kg), obstacles)
        return None

    def place(self, site: Site, obstacles=()) -> Refusal | None:
        """Set the held container down in a yard slot or on a vehicle's deck."""
        if self._state in (RUNNING, STOPPING) or self._frozen:
            return Refusal('busy', f'crane busy ({self._task} {self._phase})')
        if self.holding is None or not self.weighed:
            return Refusal('not_holding', 'the spreader holds no weighed container')
        self._begin(PLACE, site, self.holding, obstacles)
        return None

    def cancel(self):
        """Stop the task, leaving the box held at a safe height or landed (never dropped)."""
        if self._state == RUNNING:
            self._abort(Refusal('cancel', f'cancelled in {self._phase}'), CANCELLED)

    def reset(self):
        """Clear a latched e-stop or stale-sensor stop (an operator's decision); the crane holds."""
        self._frozen = False
        if self._state in (RUNNING, STOPPING):
            self._state = FAILED
        self._phase = 'idle'
        self.tracker.motion = None

    @property
    def status(self) -> CycleStatus:
        return CycleStatus(self._task, self._site.site_id if self._task else '', self._state, self._phase,
                           self._progress, self._reason, self._rule,
                           self.holding.container_id if self.holding else None, tuple(self._log))

    # ---------------------------------------------------------------- the control period
    def step(self, t_s: float, sensors: CraneSensors, vehicle: VehicleReport | None = None,
             estop: bool = False) -> CraneCommand:
        self._t, self._s, self._vehicle = t_s, sensors, vehicle
        self.tracker.observe(t_s, sensors)
        refusal = rules.estop(estop) or rules.sensors_fresh(sensors, t_s, self.rules)
        if refusal and not self._frozen:
            self._freeze(refusal)
        if self._frozen:
            return CraneCommand(hold_vehicle=self._hold_vehicle)
        if self._state == RUNNING and self._site.kind == 'vehicle' and self._phase in VEHICLE_PHASES[1:]:
            refusal = rules.vehicle_at_stop(vehicle, self._site.site_id, t_s, self.rules)
            if refusal:
                if self._phase in LANDED_PHASES:
                    self._freeze(refusal)
                    return CraneCommand(hold_vehicle=self._hold_vehicle)
                self._abort(refusal, FAILED)
        if self._state in (RUNNING, STOPPING):
            command = getattr(self, f'_ph_{self._phase}')()
        else:
            command = self._track() if self.tracker.motion is not None else CraneCommand()
        self._update_progress()
        return command

    # ---------------------------------------------------------------- helpers
    def _begin(self, task, site, lift, obstacles):
        self._task, self._site, self._lift, self._obstacles = task, site, lift, tuple(obstacles)
        self._state, self._reason, self._rule, self._progress, self._log = RUNNING, '', '', 0.0, []
        self._attempts = 0
        self._hold_vehicle = site.site_id if site.kind == 'vehicle' else None
        self._enter('start')

    def _enter(self, phase: str):
        self._phase, self._phase_t0 = phase, self._t
        self._log.append((self._t, phase))

    def _position(self) -> Waypoint:
        s = self._s
        return Waypoint(s.gantry_m, s.trolley_m, self.crane.height_for_rope(s.rope_m), s.skew_rad)

    def _run(self, motion, phase: str | None = None):
        self.tracker.start(motion, self._t)
        if phase:
            self._enter(phase)

    def _hold_here(self):
        self.tracker.start(hold(self._position(), self._s.rope_m), self._t)

    def _track(self, sway_feedback: bool = True, **extra) -> CraneCommand:
        # a spreader resting on a support (pins pressed, ropes slack) has no sway to feed back
        resting = self._s.landed and self._s.payload_kg < -0.5 * self.crane.spreader_mass_kg
        vx, vy, vz, vk = self.tracker.command(self._t, self._s, sway_feedback and not resting)
        return CraneCommand(vx, vy, vz, vk, hold_vehicle=self._hold_vehicle, **extra)

    def _still(self, **extra) -> CraneCommand:
        return CraneCommand(hold_vehicle=self._hold_vehicle, **extra)

    def _resting(self, **extra) -> CraneCommand:
        """The spreader sits on a box: drives still, the hoist paying out slack (the ropes cannot push,
        so the spreader stays on the box with its weight on the landing pins)."""
        return CraneCommand(hoist_mps=-self.params.slack_speed_mps, hold_vehicle=self._hold_vehicle, **extra)

    def _landing_z(self) -> float:
        return self._site.surface_z_m + self._lift.height_m

    def _load(self) -> LoadShape:
        if self.holding is not None:
            return self.holding.shape()
        return LoadShape(self._s.spreader_length_m, CONTAINER_WIDTH_M, 0.0)

    def _limits(self) -> PlanLimits:
        c = self.control
        return PlanLimits(self.crane, self.holding is not None, c.shaper, c.shaper_damping, c.ei_tolerance)

    def _target_skew(self, heading_rad: float) -> float:
        """The spreader heading that fits a box at this heading (either way round), nearest the current."""
        skew = self._s.skew_rad
        rel = (heading_rad - skew + 0.5 * math.pi) % math.pi - 0.5 * math.pi
        return max(-self.crane.skew_max_rad, min(self.crane.skew_max_rad, skew + rel))

    def _safe_height(self) -> float:
        here = self._position()
        return travel_height(here, here, self._load(), self._obstacles, self.params.clearance_m)

    def _elapsed(self) -> float:
        return self._t - self._phase_t0

    def _update_progress(self):
        if self._state != RUNNING or self._phase not in PROGRESS.get(self._task, {}):
            if self._state == SUCCEEDED:
                self._progress = 1.0
            return
        lo, hi = PROGRESS[self._task][self._phase]
        motion = self.tracker.motion
        share = 0.0
        if motion is not None and motion.duration_s > 0:
            share = min(max(self.tracker.elapsed_s(self._t) / motion.duration_s, 0.0), 1.0)
        self._progress = max(self._progress, lo + share * (hi - lo))

    # ---------------------------------------------------------------- faults and safe actions
    def _freeze(self, refusal: Refusal):
        """Everything stops where it is; locks stay as they are."""
        self._frozen = True
        if self._state in (RUNNING, STOPPING):
            self._state = FAILED
        self._reason, self._rule = refusal.reason, refusal.rule
        self._enter('frozen')
        self.tracker.motion = None

    def _abort(self, refusal: Refusal, final_state: str):
        """End the task with a safe action chosen by where the box is."""
        self._reason, self._rule, self._final = refusal.reason, refusal.rule, final_state
        self._state = STOPPING
        phase = self._phase
        if phase in ('lock',) or (phase == 'unlock' and not self._unlock_sent):
            self._release_then_raise()
        elif phase == 'unlock':
            self._enter('unlock')                      # the twistlocks are already turning: finish, clear
        elif phase in ('take_up', 'weigh'):
            self._set_down()
        else:
            self._stop_then_raise()

    def _finish(self):
        self._state = self._final
        self._hold_vehicle = None
        self._enter('hold')
        self._hold_here()

    def _box_landed(self) -> bool:
        return rules.has_landed(self._s, self._lift.declared_mass_kg, self.rules)

    def _settled_on_support(self, touched: bool) -> bool:
        """Touched down continuously for the debounce time (the ropes keep paying out meanwhile)."""
        if not touched:
            self._touched_at = None
        elif self._touched_at is None:
            self._touched_at = self._t
        return touched and self._t - self._touched_at >= self.params.touchdown_s

    def _stop_then_raise(self):
        s, tracker = self._s, self.tracker
        expected = ((0.0, 0.0), (0.0, 0.0))
        if tracker.motion is not None:
            ref = tracker.motion.at(self._t - tracker.t0_s)
            expected = ((ref['sway_x'], ref['sway_vx']), (ref['sway_y'], ref['sway_vy']))
        self._run(plan_stop(self._position(), s.gantry_mps, s.trolley_mps, s.hoist_mps, self.crane, expected),
                  'safe_stop')

    def _ph_safe_stop(self) -> CraneCommand:
        """Brake, then wait for the load to calm down before raising it to its hold."""
        still = self._s.gantry_mps ** 2 + self._s.trolley_mps ** 2 < 0.02 ** 2
        calm = self.tracker.sway_amplitude_m(self._s.rope_m) <= self.rules.sway_limit_m
        if self.tracker.done(self._t) and still and (calm or self._elapsed() > self.params.settle_timeout_s):
            self._raise()
        return self._track()

    def _raise(self):
        here = self._position()
        z = max(here.z_m, self._safe_height())
        speed = self.crane.hoist_speed_mps(self.holding is not None)
        self._run(plan_vertical(here, z, speed, self.crane.hoist_accel_mps2, self.crane), 'safe_raise')

    def _ph_safe_raise(self) -> CraneCommand:
        if self.tracker.done(self._t):
            self._finish()
        return self._track()

    def _set_down(self):
        self._touched_at = None
        here = self._position()
        goal = self._landing_z() - self.params.landing_overtravel_m
        self._run(plan_vertical(here, goal, self.params.landing_speed_mps, self.crane.hoist_accel_mps2, self.crane),
                  'safe_set_down')

    def _ph_safe_set_down(self) -> CraneCommand:
        if self._settled_on_support(self._box_landed()):
            self._release_then_raise()
            return self._still()
        if self.tracker.done(self._t):              # nothing under it: keep it held where it is
            self._finish()
        return self._track(sway_feedback=False)

    def _release_then_raise(self):
        self._enter('safe_release')
        self._unlock_sent = True

    def _ph_safe_release(self) -> CraneCommand:
        if not any(self._s.locked) and self._elapsed() > 0.1:
            self.holding, self.weighed = None, False
            self._raise()
            return self._still()
        if any(self._s.locked) and rules.may_unlock(self._s, self._lift.declared_mass_kg, self.rules):
            if self._elapsed() > self.params.twistlock_timeout_s:
                self._finish()                         # it does not stand on anything: keep it locked
            return self._resting()
        return self._resting(twistlocks=UNLOCK)

    # ---------------------------------------------------------------- task phases
    def _ph_start(self) -> CraneCommand:
        if self._site.kind == 'vehicle':
            # ask the vehicle to hold (the command carries the request), then wait for it to confirm
            refusal = rules.vehicle_at_stop(self._vehicle, self._site.site_id, self._t, self.rules)
            if refusal and self._elapsed() <= self.params.hold_wait_s:
                return self._still()
            if refusal:
                self._state, self._reason, self._rule = FAILED, refusal.reason, refusal.rule
                self._hold_vehicle = None
                self._enter('refused')
                self._hold_here()
                return self._still()
        self._unlock_sent = False
        site, p = self._site, self.params
        hover = Waypoint(site.pose.x_m, site.pose.y_m, self._landing_z() + p.hover_m,
                         self._target_skew(site.pose.yaw_rad))
        self._run(plan_transfer(self._position(), hover, self._load(), self._obstacles, self._limits(), p.clearance_m),
                  'travel')
        return self._track(spreader_length_m=self._lift.length_m)

    def _ph_travel(self) -> CraneCommand:
        if self.tracker.done(self._t):
            self._enter('settle')
        return self._track(spreader_length_m=self._lift.length_m)

    def _ph_settle(self) -> CraneCommand:
        """Wait at the hover point until the swing is small (the landing then waits for the spreader to
        be over its target before touching down)."""
        amplitude = self.tracker.sway_amplitude_m(self._s.rope_m)
        measuring = self.alignment is not None and (self._site.kind == 'vehicle' or self._task == PICK)
        if amplitude <= self.params.settle_sway_m and self.tracker.done(self._t):
            if measuring:
                self._enter('measure')
                self._capture_requested = None
            else:                   # blind: trust the nominal target
                site = self._site
                self._begin_landing(site.pose.x_m, site.pose.y_m, self._target_skew(site.pose.yaw_rad))
        elif self._elapsed() > self.params.settle_timeout_s:
            self._abort(rules.sway_below_limit(amplitude, self.rules) or
                        Refusal('sway', f'sway {amplitude:.3f} m did not settle'), FAILED)
        return self._track()

    def _correct_to(self, x_m: float, y_m: float, skew_rad: float):
        """Small offsets are corrected on the way down; larger ones by a move, a settle, a new look."""
        p = self.params
        end = self.tracker.motion.end()
        if math.hypot(x_m - end.x_m, y_m - end.y_m) <= p.remeasure_m:
            self._begin_landing(x_m, y_m, skew_rad)
            return
        self._attempts += 1
        if self._attempts >= p.align_attempts:
            self._abort(Refusal('alignment', f'fine positioning did not converge '
                                             f'({math.hypot(x_m - end.x_m, y_m - end.y_m):.3f} m off)'), FAILED)
            return
        here = self._position()
        start, goal = Waypoint(end.x_m, end.y_m, here.z_m, here.skew_rad), Waypoint(x_m, y_m, end.z_m, skew_rad)
        self._run(plan_transfer(start, goal, self._load(), (), self._limits(), p.clearance_m), 'correct')

    def _ph_correct(self) -> CraneCommand:
        if self.tracker.done(self._t):
            self._enter('settle')
        return self._track()

    def _ph_measure(self) -> CraneCommand:
        if self._capture_requested is None:
            self._capture_requested, self._frames = self._t, None
            return self._track(capture=True)
        if self._s.frames:                               # the capture arrives with the next reading
            self._frames = self._s.frames
            sx, sy = self.tracker.sway_offset_m()
            self._captured_at = (self._t, self._s.gantry_m + sx, self._s.trolley_m + sy)
        refusal = rules.camera_frames(self._frames, self._capture_requested, self._t, self.rules)
        if refusal:
            self._abort(refusal, FAILED)
            return self._track()
        if self._frames is None or self._t - self._captured_at[0] < self.params.measure_time_s:
            return self._track()
        frame = self._lift.container_id if self._task == PICK else 'deck'
        length = next(iter(self._frames.values())).spreader_length_m
        result = self.alignment(AlignmentRequest(self._captured_at[0], frame, Pose2D(), self._frames, length))
        if not result.ok:
            self._abort(Refusal('alignment', f'alignment failed: {result.reason}'), FAILED)
            return self._track()
        # the target in the crane frame: where the spreader was at the capture plus the measured offset
        c, s = math.cos(self._s.skew_rad), math.sin(self._s.skew_rad)
        target_x = self._captured_at[1] + c * result.dx_m - s * result.dy_m
        target_y = self._captured_at[2] + s * result.dx_m + c * result.dy_m
        self._correct_to(target_x, target_y, self._target_skew(self._s.skew_rad + result.skew_rad))
        return self._track()

    def _begin_landing(self, x_m: float, y_m: float, skew_rad: float):
        p = self.params
        end = self.tracker.motion.end()
        start = Waypoint(end.x_m, end.y_m, self._position().z_m, end.skew_rad)
        goal = Waypoint(x_m, y_m, self._landing_z() - p.landing_overtravel_m, skew_rad)
        self._touched_at = None
        self._run(plan_landing(start, goal, self._landing_z(), p.landing_speed_mps, self._limits()), 'land')

    def _ph_land(self) -> CraneCommand:
        """Creep down; within the gate above touch-down, pause while the spreader is off its target or
        sways more than the limit (a gust), and go on once it is back."""
        touched = self._s.landed if self._task == PICK else self._box_landed()
        if self._settled_on_support(touched):
            self._hold_here()
            self._touchdown_z = self._position().z_m
            self._enter('lock' if self._task == PICK else 'unlock')
            return self._resting()
        near = self._position().z_m - self._landing_z() < self.params.land_gate_m
        if near and not touched and self._landing_refusal():
            end = self.tracker.motion.end()
            self._landing_goal = end
            self._run(hold(Waypoint(end.x_m, end.y_m, self._position().z_m, end.skew_rad), self._s.rope_m),
                      'land_paused')
            return self._track()
        if self.tracker.done(self._t):
            self._abort(Refusal('landing', 'lowered past the landing height without touching down'), FAILED)
        return self._track()

    def _landing_refusal(self, tolerance_share: float = 1.0) -> Refusal | None:
        """Why the spreader may not go on down now: sway above the limit, or off its target."""
        refusal = rules.sway_below_limit(self.tracker.sway_amplitude_m(self._s.rope_m, self._t), self.rules)
        deviation = self.tracker.spreader_deviation_m(self._t, self._s)
        if refusal is None and deviation > tolerance_share * self.params.land_tolerance_m:
            refusal = Refusal('sway', f'spreader {deviation:.3f} m off its target above touch-down')
        return refusal

    def _ph_land_paused(self) -> CraneCommand:
        refusal = self._landing_refusal(tolerance_share=0.5)
        if refusal is None and self.tracker.sway_amplitude_m(self._s.rope_m) <= self.params.land_tolerance_m:
            goal = self._landing_goal
            self._begin_landing(goal.x_m, goal.y_m, goal.skew_rad)
        elif self._elapsed() > self.params.settle_timeout_s:
            self._abort(refusal or Refusal('sway', 'the sway did not settle above touch-down'), FAILED)
        return self._track()

    def _ph_lock(self) -> CraneCommand:
        if all(self._s.locked):
            self.holding, self.weighed = self._lift, False
            here = self._position()
            goal = self._touchdown_z + self.params.lift_off_m          # off the support, where it really is
            self._run(plan_vertical(here, goal, self.params.take_up_speed_mps, self.crane.hoist_accel_mps2,
                                    self.crane), 'take_up')
            return self._resting(twistlocks=LOCK)
        if self._elapsed() > self.params.twistlock_timeout_s:
            self._abort(rules.all_locked(self._s), FAILED)
            return self._resting()
        return self._resting(twistlocks=LOCK)

    def _ph_take_up(self) -> CraneCommand:
        refusal = rules.all_locked(self._s)
        if refusal:
            self._abort(refusal, FAILED)
            return self._still()
        if self.tracker.done(self._t):
            self._enter('weigh')
            self._weights = []
            self._weigh_stamp = None
        return self._track(sway_feedback=False)

    def _ph_weigh(self) -> CraneCommand:
        stamp = self._s.stamps.get('load')
        settle = self.params.weigh_settle_s
        lifted = self._position().z_m >= self._touchdown_z + 0.5 * self.params.lift_off_m
        if not lifted and not self._weights:          # the hoist is still taking up a heavy box
            self._phase_t0 = self._t
        if stamp != self._weigh_stamp and self._elapsed() > settle:
            self._weights.append(self._s.payload_kg)
            self._weigh_stamp = stamp
        if self._elapsed() >= self.params.weigh_s + settle and self._weights:
            measured = float(np.mean(self._weights))
            self.measured_mass_kg = measured
            refusal = rules.may_hoist(self._s, measured, self._lift.declared_mass_kg, self.crane.max_payload_kg,
                                      self.rules)
            if refusal:
                self._abort(refusal, FAILED)
                return self._track(sway_feedback=False)
            self.weighed = True
            here = self._position()
            goal = self._site.surface_z_m + self._lift.height_m + self.params.clearance_m
            self._run(plan_vertical(here, goal, self.crane.hoist_speed_laden_mps, self.crane.hoist_accel_mps2,
                                    self.crane), 'hoist')
        return self._track(sway_feedback=False)

    def _ph_hoist(self) -> CraneCommand:
        if self.tracker.done(self._t):
            self._final = SUCCEEDED
            self._finish()
        return self._track()

    def _ph_unlock(self) -> CraneCommand:
        if not self._unlock_sent:
            refusal = rules.may_unlock(self._s, self._lift.declared_mass_kg, self.rules)
            if refusal:
                self._abort(refusal, FAILED)
                return self._resting()
            self._unlock_sent = True
            self._unlock_t = self._t
        if not any(self._s.locked) and self._t - self._unlock_t > 0.1:
            self.holding, self.weighed = None, False
            here = self._position()
            goal = self._landing_z() + self.params.clearance_m
            self._run(plan_vertical(here, goal, self.crane.hoist_speed_empty_mps, self.crane.hoist_accel_mps2,
                                    self.crane), 'clear')
            return self._resting(twistlocks=UNLOCK)
        if self._t - self._unlock_t > self.params.twistlock_timeout_s:
            self._abort(Refusal('twistlocks', 'twistlocks did not unlock'), FAILED)
        return self._resting(twistlocks=UNLOCK)

    def _ph_clear(self) -> CraneCommand:
        if self.tracker.done(self._t):
            self._final = self._final if self._state == STOPPING else SUCCEEDED
            self._finish()
        return self._track()
