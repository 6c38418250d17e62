"""Tracking a planned motion with sway feedback: the controller side's drive loops.

Per horizontal axis (gantry x, trolley y) with drive position p, sway s (spreader offset from below the
sheave, L sin(rope angle)) and an ideal velocity drive, the pendulum obeys s'' = -w^2 s - p''. The shaped
plan brings its own expected sway s_ref (motion.sway_model); feedback acts on the difference, so it does
not fight the shaped transient, only what the plan did not foresee (gusts, a wrong rope length, a
centre of gravity off the middle, the drives' lag):

    v = v_ref - k_e (p - p_ref) - k_s (s - s_ref) - k_d (s' - s_ref')

The closed loop's characteristic polynomial is (1 - k_d) P^3 + (k_e - k_s) P^2 + w^2 P + w^2 k_e; the gains
place its roots at a sway pair (W, zeta) and a real root r (all scaled with w = sqrt(g/L), recomputed
from the hoist encoder every period). s and s' come from an observer of the same pendulum driven by the
drive's acceleration and corrected by the rope angle sensor.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..params import doc
from .interface import CraneSensors
from .motion import Motion
from .params import GRAVITY_MPS2, CraneParams


@dataclass(frozen=True)
class ControlParams:
    shaper: str = doc('zv', "command shaper of the travel pulses: 'none', 'zv', 'zvd' or 'ei'")
    shaper_damping: float = doc(0.0, 'damping ratio the shaper is designed for (rope sway is hardly damped)')
    ei_tolerance: float = doc(0.05, 'residual vibration an EI shaper tolerates at its design frequency')
    sway_feedback: bool = doc(True, 'feed the measured sway back (off: open-loop shaping only)')
    sway_damping: float = doc(0.7, 'closed-loop damping ratio of the sway pair')
    sway_frequency_factor: float = doc(1.2, 'closed-loop sway frequency / pendulum frequency')
    position_pole_factor: float = doc(1.5, 'closed-loop real pole (position) / pendulum frequency')
    observer_pole_factor: float = doc(2.5, 'sway observer poles / pendulum frequency')
    drive_time_constant_s: float = doc(0.05, 'velocity drive lag: speed is fed forward from this far ahead [s]')
    hoist_gain_1ps: float = doc(2.0, 'hoist position feedback [1/s]')
    skew_gain_1ps: float = doc(2.0, 'skew position feedback [1/s]')
    speed_margin: float = doc(1.1, 'commands may exceed the planned speed limits by this factor (feedback)')


def sway_gains(omega_radps: float, params: ControlParams) -> tuple[float, float, float]:
    """(k_e, k_s, k_d) that place the closed loop at W = f w, zeta, r = g w (see the module doc)."""
    w, big_w = omega_radps, params.sway_frequency_factor * omega_radps
    r, z = params.position_pole_factor * omega_radps, params.sway_damping
    q = w * w / (big_w * big_w + 2.0 * z * big_w * r)
    k_e = q * big_w * big_w * r / (w * w)
    k_s = k_e - q * (2.0 * z * big_w + r)
    return k_e, k_s, 1.0 - q


class SwayObserver:
    """Sway s and its rate on one axis. It observes the spreader's own horizontal position q = p + s,
    which obeys q'' = -g tan(a) ~ -w^2 (q - p) whatever the drive does, so no drive acceleration is
    needed: driven by the drive encoder p, corrected by each new rope angle sample (q = p + L sin a)
    compared at the sample's own time; then s = q - p and s' = q' - p' (the drive's measured speed)."""

    def __init__(self, params: ControlParams):
        self.params = params
        self.q = self.qd = 0.0
        self.s = self.sd = 0.0
        self._stamp = None
        self._drive = None                       # (t, p) of the previous encoder reading

    def update(self, t_s: float, rope_m: float, angle_rad: float, stamp_s: float, drive_m: float,
               drive_mps: float):
        """Advance to t_s with the drive's encoder reading then; the rope angle was sampled at stamp_s."""
        w2 = GRAVITY_MPS2 / rope_m
        if self._stamp is None:
            self.q, self.qd, self._stamp = drive_m + rope_m * math.sin(angle_rad), drive_mps, stamp_s
        else:
            t_prev, p_prev = self._drive
            dt = t_s - t_prev
            # predict over the period with the drive midway (symplectic Euler)
            swing = self.q - 0.5 * (p_prev + drive_m)
            self.qd += dt * (-GRAVITY_MPS2 * swing / math.sqrt(max(rope_m * rope_m - swing * swing, 1.0)))
            self.q += dt * self.qd
            if stamp_s != self._stamp:                                  # correct on a new sample
                lam = self.params.observer_pole_factor * math.sqrt(w2)
                sample_dt = stamp_s - self._stamp
                age = t_s - stamp_s
                p_then = drive_m - (drive_m - p_prev) / dt * age if dt > 0 else drive_m
                error = p_then + rope_m * math.sin(angle_rad) - (self.q - self.qd * age)
                self.q += 2.0 * lam * sample_dt * error
                self.qd += (lam * lam - w2) * sample_dt * error
                self._stamp = stamp_s
        self._drive = (t_s, drive_m)
        self.s, self.sd = self.q - drive_m, self.qd - drive_mps

    def amplitude_m(self, rope_m: float) -> float:
        """Sway amplitude, sqrt(s^2 + (s'/w)^2) [m]."""
        return math.hypot(self.s, self.sd / math.sqrt(GRAVITY_MPS2 / rope_m))


class MotionTracker:
    """Follows one planned Motion from its start time: velocity commands for gantry, trolley, hoist, skew
    from the reference, the encoders and the sway observers (which it keeps across motions)."""

    def __init__(self, crane: CraneParams, params: ControlParams):
        self.crane, self.params = crane, params
        self.observer_x, self.observer_y = SwayObserver(params), SwayObserver(params)
        self.motion: Motion | None = None
        self.t0_s = 0.0

    def start(self, motion: Motion, t_s: float):
        self.motion, self.t0_s = motion, t_s

    def elapsed_s(self, t_s: float) -> float:
        return t_s - self.t0_s

    def done(self, t_s: float) -> bool:
        return self.motion is None or t_s - self.t0_s >= self.motion.duration_s

    def observe(self, t_s: float, sensors: CraneSensors):
        """Advance the sway observers to this reading (every period, moving or not)."""
        stamp = sensors.stamps.get('sway', sensors.t_s)
        t_enc = sensors.stamps.get('encoders', t_s)
        self.observer_x.update(t_enc, sensors.rope_m, sensors.sway_x_rad, stamp, sensors.gantry_m, sensors.gantry_mps)
        self.observer_y.update(t_enc, sensors.rope_m, sensors.sway_y_rad, stamp, sensors.trolley_m, sensors.trolley_mps)

    def sway_amplitude_m(self, rope_m: float, t_s: float | None = None) -> float:
        """Sway amplitude beyond what the plan expects at t_s (all of it when no plan is running) [m]."""
        w = math.sqrt(GRAVITY_MPS2 / rope_m)
        ref = self.motion.at(t_s - self.t0_s) if (self.motion is not None and t_s is not None) else \
            dict(sway_x=0.0, sway_vx=0.0, sway_y=0.0, sway_vy=0.0)
        ox, oy = self.observer_x, self.observer_y
        return max(math.hypot(ox.s - ref['sway_x'], (ox.sd - ref['sway_vx']) / w),
                   math.hypot(oy.s - ref['sway_y'], (oy.sd - ref['sway_vy']) / w))

    def sway_offset_m(self) -> tuple[float, float]:
        """Where the spreader hangs relative to below the sheave now, as estimated (x, y) [m]."""
        return self.observer_x.s, self.observer_y.s

    def spreader_deviation_m(self, t_s: float, sensors: CraneSensors) -> float:
        """How far the spreader (drive plus sway) is from where the plan puts it now (drive plus the
        sway the plan expects plus the standing offset it allows for)."""
        ref = self.motion.at(t_s - self.t0_s)
        ox, oy = self.observer_x, self.observer_y
        return math.hypot(sensors.gantry_m + ox.s - ref['x'] - ref['sway_x'],
                          sensors.trolley_m + oy.s - ref['y'] - ref['sway_y'])

    def command(self, t_s: float, sensors: CraneSensors, sway_feedback: bool = True) -> tuple:
        """(gantry, trolley, hoist, skew) speed setpoints; sway feedback off while the spreader rests on
        something (slack ropes: the rope angle means nothing)."""
        ref = self.motion.at(t_s - self.t0_s)
        p, c = self.params, self.crane
        # the drives answer about one time constant late: feed their speed forward from that far ahead
        ahead = self.motion.at(t_s - self.t0_s + p.drive_time_constant_s)
        for name in ('vx', 'vy', 'vz', 'vskew'):
            ref[name] = ahead[name]
        k_e, k_s, k_d = sway_gains(math.sqrt(GRAVITY_MPS2 / max(sensors.rope_m, 1.0)), p)
        if not (sway_feedback and p.sway_feedback):
            k_s = k_d = 0.0
        ox, oy = self.observer_x, self.observer_y
        vx = ref['vx'] - k_e * (sensors.gantry_m - ref['x']) - k_s * (ox.s - ref['sway_x']) \
            - k_d * (ox.sd - ref['sway_vx'])
        vy = ref['vy'] - k_e * (sensors.trolley_m - ref['y']) - k_s * (oy.s - ref['sway_y']) \
            - k_d * (oy.sd - ref['sway_vy'])
        z_meas = c.height_for_rope(sensors.rope_m)
        vz = ref['vz'] + p.hoist_gain_1ps * (ref['z'] - z_meas)
        vk = ref['vskew'] + p.skew_gain_1ps * (ref['skew'] - sensors.skew_rad)
        m = p.speed_margin
        vx = _clip(vx, m * c.gantry_speed_mps)
        vy = _clip(vy, m * c.trolley_speed_mps)
        vz = _clip(vz, m * c.hoist_speed_empty_mps)
        vk = _clip(vk, m * c.skew_speed_radps)
        return vx, vy, vz, vk


def _clip(v: float, limit: float) -> float:
    return max(-limit, min(limit, v))
