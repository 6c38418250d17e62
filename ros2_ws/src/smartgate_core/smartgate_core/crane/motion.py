"""Motion plans of the crane: time-optimal trapezoids, shaped horizontal moves, and the transfer of a load
over obstacles (hoist to a travel height, travel, lower), sampled on a fixed grid with the sway the
pendulum model expects from them.

A transfer is planned in the spreader's coordinates: gantry position x, trolley position y, height z of
the twistlock plane, skew. The hoist starts at once; travel starts as early as the load, rising, clears
every obstacle it will pass over (with a margin); lowering starts as early as it still clears them.
Horizontal acceleration and deceleration pulses are each convolved with a shaper placed by the
pendulum's phase under the planned rope length (see shaping), so hoisting during travel is accounted
for; the same planner with the identity shaper gives the time-optimal plan of a rigid load.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .layout import Obstacle
from .params import GRAVITY_MPS2, CraneParams
from .shaping import Shaper, design, peak_overlap, retime_by_phase, unshaped

GRID_S = 0.02          # sampling of plans (the control period)
MODEL_STEP_S = 0.005   # integration step of the sway model
MOVED_M = 0.01         # the load counts as away from its start or goal beyond this
NO_MOVE_M = 0.001      # an axis asked to move less than this stays
SEARCH_S = 0.1         # resolution of the search for the earliest travel and lowering starts


@dataclass(frozen=True)
class Trapezoid:
    """Time-optimal rest-to-rest move of `distance_m` from `start_m` under |v| <= speed, |a| <= accel."""

    start_m: float
    distance_m: float
    speed_mps: float          # peak speed reached
    accel_mps2: float

    @classmethod
    def fastest(cls, start_m: float, distance_m: float, v_max: float, a_max: float) -> 'Trapezoid':
        return cls(start_m, distance_m, min(v_max, math.sqrt(abs(distance_m) * a_max)), a_max)

    @property
    def duration_s(self) -> float:
        if self.distance_m == 0.0:
            return 0.0
        return abs(self.distance_m) / self.speed_mps + self.speed_mps / self.accel_mps2

    def sample(self, t_s):
        """Position, velocity, acceleration at times t_s (before the start: at rest)."""
        move = ShapedMove.build(self.start_m, self.distance_m, self.speed_mps, self.accel_mps2, unshaped(), unshaped())
        return move.sample(t_s)


def _ramp(t, a, tau):
    """A unit acceleration pulse of height a and length tau: its position, velocity, acceleration."""
    t = np.asarray(t, dtype=float)
    inside, after = (t >= 0.0) & (t < tau), t >= tau
    v = a * tau
    pos = np.where(inside, 0.5 * a * t * t, 0.0) + np.where(after, v * (t - 0.5 * tau), 0.0)
    vel = np.where(inside, a * t, 0.0) + np.where(after, v, 0.0)
    acc = np.where(inside, a, 0.0)
    return pos, vel, acc


@dataclass(frozen=True)
class ShapedMove:
    """A trapezoid whose acceleration pulse and deceleration pulse are each convolved with a shaper; the
    deceleration starts so that the move still ends exactly `distance_m` away."""

    start_m: float
    distance_m: float
    speed_mps: float          # cruise speed (the shaped move never exceeds it)
    pulse_accel_mps2: float   # height of the unshaped pulses (shaping spreads them out)
    accel_shaper: Shaper
    decel_shaper: Shaper
    decel_start_s: float

    @classmethod
    def build(cls, start_m, distance_m, speed_mps, pulse_accel_mps2, accel_shaper, decel_shaper) -> 'ShapedMove':
        if distance_m == 0.0:
            return cls(start_m, 0.0, 0.0, pulse_accel_mps2, unshaped(), unshaped(), 0.0)
        # the area between the two shaped velocity ramps is the distance: v * (t_d + delay2 - delay1)
        decel = abs(distance_m) / speed_mps - decel_shaper.centroid_s() + accel_shaper.centroid_s()
        return cls(start_m, distance_m, speed_mps, pulse_accel_mps2, accel_shaper, decel_shaper, max(decel, 0.0))

    @property
    def ramp_s(self) -> float:
        return self.speed_mps / self.pulse_accel_mps2 if self.speed_mps > 0 else 0.0

    @property
    def duration_s(self) -> float:
        if self.distance_m == 0.0:
            return 0.0
        return max(self.accel_shaper.duration_s, self.decel_start_s + self.decel_shaper.duration_s) + self.ramp_s

    def sample(self, t_s):
        t = np.asarray(t_s, dtype=float)
        pos, vel, acc = np.zeros_like(t), np.zeros_like(t), np.zeros_like(t)
        if self.distance_m != 0.0:
            for shaper, t0, sign in ((self.accel_shaper, 0.0, 1.0), (self.decel_shaper, self.decel_start_s, -1.0)):
                for ti, ai in zip(shaper.times_s, shaper.amplitudes):
                    p, v, a = _ramp(t - t0 - ti, self.pulse_accel_mps2, self.ramp_s)
                    pos += sign * ai * p
                    vel += sign * ai * v
                    acc += sign * ai * a
        direction = math.copysign(1.0, self.distance_m) if self.distance_m else 0.0
        return self.start_m + direction * pos, direction * vel, direction * acc


def fastest_shaped(start_m, distance_m, v_max, a_max, shapers_for) -> ShapedMove:
    """The quickest shaped move whose acceleration stays within a_max: where the shaper splits a pulse
    into copies that do not overlap, the unshaped pulse may be correspondingly higher.
    `shapers_for(ramp_s, decel_start_s)` designs the two shapers for a given timing."""
    best = None
    for factor in (0.5, 0.75, 1.0):
        a_pulse = a_max / factor
        speed = min(v_max, math.sqrt(abs(distance_m) * a_pulse))
        ramp = speed / a_pulse
        s1, s2 = shapers_for(ramp, abs(distance_m) / max(speed, 1e-9))
        move = ShapedMove.build(start_m, distance_m, speed, a_pulse, s1, s2)
        s1, s2 = shapers_for(ramp, move.decel_start_s)
        move = ShapedMove.build(start_m, distance_m, speed, a_pulse, s1, s2)
        if max(peak_overlap(s1, ramp), peak_overlap(s2, ramp)) * a_pulse <= a_max * (1.0 + 1e-9):
            if best is None or move.duration_s < best.duration_s:
                best = move
    return best


@dataclass(frozen=True)
class Waypoint:
    """Where the spreader is: gantry x, trolley y, twistlock-plane height z, skew."""

    x_m: float
    y_m: float
    z_m: float
    skew_rad: float = 0.0


@dataclass(frozen=True)
class LoadShape:
    """What hangs from the spreader, for clearance: footprint and how far it reaches below the
    twistlock plane (a held box: its height; the empty spreader: nothing)."""

    length_m: float
    width_m: float
    below_m: float


@dataclass
class Motion:
    """A planned motion sampled every GRID_S: positions and velocities of all axes, the rope length, and
    the sway (offset of the spreader from below the sheave, x and y) the pendulum model predicts."""

    t_s: np.ndarray
    x: np.ndarray
    vx: np.ndarray
    y: np.ndarray
    vy: np.ndarray
    z: np.ndarray
    vz: np.ndarray
    skew: np.ndarray
    vskew: np.ndarray
    sway_x: np.ndarray
    sway_vx: np.ndarray
    sway_y: np.ndarray
    sway_vy: np.ndarray
    rope_m: np.ndarray
    travel_end_s: float = 0.0     # the horizontal axes stop (for the sway residual)

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1])

    CHANNELS = ('x', 'vx', 'y', 'vy', 'z', 'vz', 'skew', 'vskew', 'sway_x', 'sway_vx', 'sway_y', 'sway_vy')

    def at(self, t_s: float) -> dict:
        """Every channel at time t_s after the start; after the end at rest, and no sway expected (what
        the plan left swinging is the feedback's to remove)."""
        if t_s >= self.duration_s:
            out = {name: float(getattr(self, name)[-1]) for name in ('x', 'y', 'z', 'skew')}
            out.update(vx=0.0, vy=0.0, vz=0.0, vskew=0.0, sway_x=0.0, sway_vx=0.0, sway_y=0.0, sway_vy=0.0)
            return out
        return {name: float(np.interp(t_s, self.t_s, getattr(self, name))) for name in self.CHANNELS}

    def end(self) -> Waypoint:
        return Waypoint(float(self.x[-1]), float(self.y[-1]), float(self.z[-1]), float(self.skew[-1]))


def hold(at: Waypoint, rope_m: float) -> Motion:
    """Stay where the spreader is (a motion of zero length)."""
    one = lambda v: np.array([v])  # noqa: E731
    zero = np.zeros(1)
    return Motion(zero.copy(), one(at.x_m), zero.copy(), one(at.y_m), zero.copy(), one(at.z_m), zero.copy(),
                  one(at.skew_rad), zero.copy(), zero.copy(), zero.copy(), zero.copy(), zero.copy(), one(rope_m))


@dataclass(frozen=True)
class PlanLimits:
    """The limits a plan honours and how it shapes: from CraneParams and the control parameters."""

    crane: CraneParams
    laden: bool
    shaper: str = 'zv'           # 'none' plans the rigid-load reference
    damping: float = 0.0
    ei_tolerance: float = 0.05

    @property
    def hoist_speed_mps(self) -> float:
        return self.crane.hoist_speed_mps(self.laden)


def _aabb(ob: Obstacle):
    corners = ob.footprint()
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    return 0.5 * (lo + hi), 0.5 * (hi - lo)


def travel_height(start: Waypoint, goal: Waypoint, load: LoadShape, obstacles, margin_m: float) -> float:
    """Lowest twistlock-plane height at which the load clears, with the margin, every obstacle in the
    corridor between start and goal."""
    half = np.array([0.5 * load.length_m, 0.5 * load.width_m])
    lo = np.minimum([start.x_m, start.y_m], [goal.x_m, goal.y_m]) - half - margin_m
    hi = np.maximum([start.x_m, start.y_m], [goal.x_m, goal.y_m]) + half + margin_m
    need = max(start.z_m, goal.z_m)
    for ob in obstacles:
        centre, ext = _aabb(ob)
        if np.all(centre + ext > lo) and np.all(centre - ext < hi):
            need = max(need, ob.top_z_m + margin_m + load.below_m)
    return need


def clearance_violations(t, x, y, z, start: Waypoint, goal: Waypoint, load: LoadShape, obstacles,
                         margin_m: float) -> np.ndarray:
    """Samples where the load, away from both its start and its goal, is over an obstacle and lower
    than its top plus the margin."""
    away = ((np.abs(x - start.x_m) > MOVED_M) | (np.abs(y - start.y_m) > MOVED_M)) & \
           ((np.abs(x - goal.x_m) > MOVED_M) | (np.abs(y - goal.y_m) > MOVED_M))
    bad = np.zeros_like(t, dtype=bool)
    for ob in obstacles:
        centre, ext = _aabb(ob)
        over = (np.abs(x - centre[0]) < ext[0] + 0.5 * load.length_m + margin_m) & \
               (np.abs(y - centre[1]) < ext[1] + 0.5 * load.width_m + margin_m)
        bad |= away & over & (z - load.below_m < ob.top_z_m + margin_m - 1e-6)
    return bad


def _phase(t, z, crane: CraneParams):
    """Rope length and accumulated pendulum phase on the grid; the hoist's acceleration changes the
    effective gravity: s'' = -((g - L'') / L) s - a_trolley for the sway s."""
    rope = crane.rope_for_height(z)
    rope_acc = np.gradient(np.gradient(rope, t), t) if len(t) > 2 else np.zeros_like(t)
    omega = np.sqrt(np.maximum(GRAVITY_MPS2 - rope_acc, 1.0) / rope)
    phase = np.concatenate([[0.0], np.cumsum(0.5 * (omega[1:] + omega[:-1]) * np.diff(t))])
    return rope, rope_acc, phase


def sway_model(t, ax, rope, rope_acc, s0_m: float = 0.0, sd0_mps: float = 0.0):
    """The sway s = L sin(a) and its rate the plan's accelerations excite from (s0, s0'), integrating the
    rope angle a of the pendulum, L a'' + 2 L' a' + (g - L'') sin a = -a_drive cos a (sub-stepped on the
    grid; linearised in s this is the s'' = -((g - L'')/L) s - a_drive the shapers cancel)."""
    rope_rate = np.gradient(rope, t) if len(t) > 1 else np.zeros_like(t)
    angle = math.asin(max(-0.5, min(0.5, s0_m / rope[0])))
    rate = (sd0_mps - rope_rate[0] * math.sin(angle)) / (rope[0] * math.cos(angle))
    out_s, out_sd = np.zeros_like(t), np.zeros_like(t)
    out_s[0], out_sd[0] = s0_m, sd0_mps
    for i in range(1, len(t)):
        dt = t[i] - t[i - 1]
        n = max(1, int(round(dt / MODEL_STEP_S)))
        h = dt / n
        L, Ld, Ldd, a = rope[i - 1], rope_rate[i - 1], rope_acc[i - 1], ax[i - 1]
        for _ in range(n):                      # symplectic Euler: no artificial damping or growth
            rate += h * (-(GRAVITY_MPS2 - Ldd) * math.sin(angle) - a * math.cos(angle) - 2.0 * Ld * rate) / L
            angle += h * rate
        out_s[i] = rope[i] * math.sin(angle)
        out_sd[i] = rope_rate[i] * math.sin(angle) + rope[i] * math.cos(angle) * rate
    return out_s, out_sd


def _horizontal(start: Waypoint, goal: Waypoint, grid, z, limits: PlanLimits, travel_at: float):
    """The gantry and trolley moves starting at travel_at, each pulse shaped by the pendulum's phase
    under the rope length the vertical plan z gives on the grid (None for an axis that does not move)."""
    c = limits.crane
    _, _, phase = _phase(grid, z, c)
    omega = math.sqrt(GRAVITY_MPS2 / c.rope_for_height(float(np.mean(z))))

    def shapers_for(ramp_s, decel_start_s):
        if limits.shaper == 'none':
            return unshaped(), unshaped()
        base = design(limits.shaper, omega, limits.damping, limits.ei_tolerance)
        return (retime_by_phase(base, omega, travel_at, grid, phase),
                retime_by_phase(base, omega, travel_at + decel_start_s, grid, phase))
    dx, dy = goal.x_m - start.x_m, goal.y_m - start.y_m
    mx = fastest_shaped(start.x_m, dx, c.gantry_speed_mps, c.gantry_accel_mps2, shapers_for) \
        if abs(dx) > NO_MOVE_M else None
    my = fastest_shaped(start.y_m, dy, c.trolley_speed_mps, c.trolley_accel_mps2, shapers_for) \
        if abs(dy) > NO_MOVE_M else None
    return mx, my


def _model_residual(move: ShapedMove, travel_at: float, vertical, crane: CraneParams) -> np.ndarray:
    """Sway (s, s'/w) the pendulum model is left with when this move ends, under the vertical plan."""
    t = np.arange(0.0, travel_at + move.duration_s + GRID_S, GRID_S)
    _, _, acc = move.sample(t - travel_at)
    rope, rope_acc, _ = _phase(t, vertical(t)[0], crane)
    s, sd = sway_model(t, acc, rope, rope_acc)
    return np.array([s[-1], sd[-1] / math.sqrt(GRAVITY_MPS2 / rope[-1])])


def fit_to_rope(move: ShapedMove | None, travel_at: float, vertical, crane: CraneParams,
                tolerance_m: float = 0.001) -> ShapedMove | None:
    """Refit the deceleration shaper's last impulse (its amplitude and delay: two unknowns for the two
    components of the residual sway) so that the pendulum model, integrated through the planned rope
    length (hoisting, its accelerations, the rope angle's nonlinearity), ends the move at rest. Newton's
    method from the phase-placed shaper, which is already close."""
    if move is None or len(move.decel_shaper.times_s) < 2:
        return move

    def build(params):
        last, delay = params
        amps = np.asarray(move.decel_shaper.amplitudes[:-1])
        amps = amps * (1.0 - last) / amps.sum()
        times = tuple(move.decel_shaper.times_s[:-1]) + (max(delay, move.decel_shaper.times_s[-2]),)
        shaper = Shaper(times, tuple(amps) + (last,))
        return ShapedMove.build(move.start_m, move.distance_m, move.speed_mps, move.pulse_accel_mps2,
                                move.accel_shaper, shaper)
    x = np.array([move.decel_shaper.amplitudes[-1], move.decel_shaper.times_s[-1]])
    best, best_norm = move, np.linalg.norm(_model_residual(move, travel_at, vertical, crane))
    for _ in range(5):
        if best_norm < tolerance_m:
            break
        r = _model_residual(build(x), travel_at, vertical, crane)
        jac = np.zeros((2, 2))
        for j, h in enumerate((0.01, 0.05)):
            step = x.copy()
            step[j] += h
            jac[:, j] = (_model_residual(build(step), travel_at, vertical, crane) - r) / h
        try:
            x = x - np.linalg.solve(jac, r)
        except np.linalg.LinAlgError:
            break
        x[0] = min(max(x[0], 0.05), 0.95)
        candidate = build(x)
        norm = np.linalg.norm(_model_residual(candidate, travel_at, vertical, crane))
        if norm < best_norm:
            best, best_norm = candidate, norm
    return best


def _horizon(start: Waypoint, goal: Waypoint, vertical_s: float, crane: CraneParams) -> np.ndarray:
    """A grid long enough for any shaped travel between the two points plus the vertical moves."""
    rigid = max(
        Trapezoid.fastest(0.0, goal.x_m - start.x_m, crane.gantry_speed_mps, crane.gantry_accel_mps2).duration_s,
        Trapezoid.fastest(0.0, goal.y_m - start.y_m, crane.trolley_speed_mps, crane.trolley_accel_mps2).duration_s)
    longest_period = 2.0 * math.pi * math.sqrt(crane.rope_max_m / GRAVITY_MPS2)
    return np.arange(0.0, vertical_s + rigid + 2.0 * longest_period + 1.0, GRID_S)


def _assemble(start: Waypoint, goal: Waypoint, vertical, mx, my, travel_at: float, vertical_end_s: float,
              crane: CraneParams) -> Motion:
    """Sample every axis, and the sway the pendulum model expects, on the plan's own grid."""
    skew = Trapezoid.fastest(start.skew_rad, goal.skew_rad - start.skew_rad, crane.skew_speed_radps,
                             crane.skew_accel_radps2)
    end = travel_at + max([m.duration_s for m in (mx, my) if m] or [0.0])
    t = np.arange(0.0, max(end, vertical_end_s, skew.duration_s) + GRID_S, GRID_S)
    z, vz = vertical(t)
    x, vx, ax = mx.sample(t - travel_at) if mx else (np.full_like(t, start.x_m), np.zeros_like(t), np.zeros_like(t))
    y, vy, ay = my.sample(t - travel_at) if my else (np.full_like(t, start.y_m), np.zeros_like(t), np.zeros_like(t))
    rope, rope_acc, _ = _phase(t, z, crane)
    sx, svx = sway_model(t, ax, rope, rope_acc)
    sy, svy = sway_model(t, ay, rope, rope_acc)
    k, vk, _ = skew.sample(t)
    return Motion(t, x, vx, y, vy, z, vz, k, vk, sx, svx, sy, svy, rope, end)


def plan_transfer(start: Waypoint, goal: Waypoint, load: LoadShape, obstacles, limits: PlanLimits,
                  margin_m: float) -> Motion:
    """Hoist to a travel height that clears the obstacles, travel (gantry and trolley together),
    lower to the goal; travel overlaps the hoisting wherever the obstacles allow."""
    c = limits.crane
    z_travel = travel_height(start, goal, load, obstacles, margin_m)
    up = Trapezoid.fastest(start.z_m, z_travel - start.z_m, limits.hoist_speed_mps, c.hoist_accel_mps2)
    down = Trapezoid.fastest(z_travel, goal.z_m - z_travel, limits.hoist_speed_mps, c.hoist_accel_mps2)
    grid = _horizon(start, goal, up.duration_s + down.duration_s, c)

    def vertical(t, lower_at):
        zu, vu, _ = up.sample(t)
        zd, vd, _ = down.sample(t - lower_at)
        return zu + (zd - z_travel), vu + vd

    def travel_end(mx, my, travel_at):
        return travel_at + max([m.duration_s for m in (mx, my) if m] or [0.0])

    def feasible(travel_at, lower_at, mx, my):
        z, _ = vertical(grid, lower_at)
        x = mx.sample(grid - travel_at)[0] if mx else np.full_like(grid, start.x_m)
        y = my.sample(grid - travel_at)[0] if my else np.full_like(grid, start.y_m)
        return not clearance_violations(grid, x, y, z, start, goal, load, obstacles, margin_m).any()

    # earliest travel start (lowering only after the travel), then earliest lowering; the shapers are
    # redesigned for the rope lengths that timing gives, twice
    travel_at, lower_at = 0.0, up.duration_s
    for _ in range(2):
        mx, my = _horizontal(start, goal, grid, vertical(grid, lower_at)[0], limits, travel_at)
        end = travel_end(mx, my, travel_at)
        travel_at = next((t for t in np.arange(0.0, up.duration_s + SEARCH_S, SEARCH_S)
                          if feasible(t, max(up.duration_s, t + end - travel_at), mx, my)), up.duration_s)
        end = travel_end(mx, my, travel_at)
        lower_at = next((t for t in np.arange(max(up.duration_s, travel_at), end + SEARCH_S, SEARCH_S)
                         if feasible(travel_at, t, mx, my)), max(end, up.duration_s))
    mx, my = _horizontal(start, goal, grid, vertical(grid, lower_at)[0], limits, travel_at)
    if limits.shaper != 'none':
        mx, my = (fit_to_rope(m, travel_at, lambda t: vertical(t, lower_at), c) for m in (mx, my))
    # the last redesign may have moved the end of the travel: lower no earlier than still clears
    end = travel_end(mx, my, travel_at)
    lower_at = next((t for t in np.arange(lower_at, end + SEARCH_S, SEARCH_S) if feasible(travel_at, t, mx, my)),
                    max(end, lower_at))
    return _assemble(start, goal, lambda t: vertical(t, lower_at), mx, my, travel_at,
                     lower_at + down.duration_s, c)


def plan_landing(start: Waypoint, goal: Waypoint, touch_z_m: float, creep_mps: float, limits: PlanLimits) -> Motion:
    """Creep down to goal.z (below the expected touch-down at touch_z) while the spreader makes a small
    correction to goal's x, y and skew; the creep is timed to reach touch_z only once the horizontal
    correction has ended."""
    c = limits.crane
    creep = Trapezoid.fastest(start.z_m, goal.z_m - start.z_m, creep_mps, c.hoist_accel_mps2)
    grid = _horizon(start, goal, creep.duration_s, c)
    fine = np.arange(0.0, creep.duration_s + GRID_S, GRID_S)
    touch_s = float(fine[np.argmax(creep.sample(fine)[0] <= touch_z_m)])
    mx, my = _horizontal(start, goal, grid, creep.sample(grid)[0], limits, 0.0)
    moved_s = max([m.duration_s for m in (mx, my) if m] or [0.0])
    lower_at = max(0.0, moved_s + 0.5 - touch_s) if moved_s else 0.0
    if lower_at:
        mx, my = _horizontal(start, goal, grid, creep.sample(grid - lower_at)[0], limits, 0.0)

    def vertical(t):
        z, vz, _ = creep.sample(t - lower_at)
        return z, vz
    if limits.shaper != 'none':
        mx, my = (fit_to_rope(m, 0.0, vertical, c) for m in (mx, my))
    return _assemble(start, goal, vertical, mx, my, 0.0, lower_at + creep.duration_s, c)


def plan_vertical(start: Waypoint, z_goal_m: float, speed_mps: float, accel_mps2: float, crane: CraneParams) -> Motion:
    """A purely vertical move of the spreader (a landing creep, a take-up, a hoist clear)."""
    move = Trapezoid.fastest(start.z_m, z_goal_m - start.z_m, speed_mps, accel_mps2)
    t = np.arange(0.0, move.duration_s + GRID_S, GRID_S)
    z, vz, _ = move.sample(t)
    n = len(t)
    zero = np.zeros(n)
    return Motion(t, np.full(n, start.x_m), zero.copy(), np.full(n, start.y_m), zero.copy(), z, vz,
                  np.full(n, start.skew_rad), zero.copy(), zero.copy(), zero.copy(), zero.copy(), zero.copy(),
                  crane.rope_for_height(z))


def plan_stop(start: Waypoint, vx_mps: float, vy_mps: float, vz_mps: float, crane: CraneParams,
              sway=((0.0, 0.0), (0.0, 0.0))) -> Motion:
    """Brake every axis from its current speed to rest at the planned decelerations (a controlled stop,
    for a cancel in mid-travel). The model's sway starts from `sway` ((s, s') per axis: what the plan
    being stopped expected now); what the braking adds is left to the feedback to damp."""
    axes = ((start.x_m, vx_mps, crane.gantry_accel_mps2), (start.y_m, vy_mps, crane.trolley_accel_mps2),
            (start.z_m, vz_mps, crane.hoist_accel_mps2))
    duration = max(abs(v) / a for _, v, a in axes)
    t = np.arange(0.0, duration + GRID_S, GRID_S)
    channels = []
    for p0, v0, a in axes:
        stop = abs(v0) / a
        tt = np.minimum(t, stop)
        v = np.where(t < stop, v0 - math.copysign(a, v0) * t, 0.0)
        channels.append((p0 + v0 * tt - 0.5 * math.copysign(a, v0) * tt * tt, v,
                         np.where(t < stop, -math.copysign(a, v0), 0.0)))
    (x, vx, ax), (y, vy, ay), (z, vz, _) = channels
    rope, rope_acc, _ = _phase(t, z, crane)
    sx, svx = sway_model(t, ax, rope, rope_acc, *sway[0])
    sy, svy = sway_model(t, ay, rope, rope_acc, *sway[1])
    n = len(t)
    return Motion(t, x, vx, y, vy, z, vz, np.full(n, start.skew_rad), np.zeros(n), sx, svx, sy, svy, rope)
