"""Safety supervision of a driving vehicle: what may override the route tracker, and how hard.

Order of precedence (first that applies wins):
  1. e-stop requested (operator, fleet manager)          -> emergency braking
  2. fleet-manager heartbeat older than the timeout        -> emergency braking (JT/T 1377-2021:
     stop if a communication fault is not cleared within 1 s; the timeout leaves room for the
     control period and actuator delay so braking starts inside that second)
  3. an obstacle ahead inside the stopping margin          -> emergency braking
  4. an obstacle or a vehicle ahead                        -> a speed cap that stops the vehicle a
     margin short of it at comfortable deceleration (v = sqrt(2 a d), d less the distance covered
     while the drive answers); emergency braking when
     time-to-collision is short and comfortable braking can no longer make it
  5. localization integrity: a protection level above `stop_protection_level_m` holds the vehicle
     (cap 0, service braking); above `slow_protection_level_m` it may only creep
  6. a zone speed limit sent by the fleet manager          -> a speed cap
NaN inputs count as the worst case (an unreadable heartbeat age is a lost heartbeat).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..params import doc

EMERGENCY_ABOVE_MPS = 0.5    # slower than this, holding (cap 0) is enough near an obstacle [m/s]


def ece_r13_stopping_distance_m(speed_mps: float) -> float:
    """Longest stop UN ECE R13 allows a category N3 vehicle (Annex 4, type-0 test, service braking)
    from this speed: 0.15 v + v^2 / 130 with v in km/h; the requirement an e-stop is held to [m]."""
    v_kmh = speed_mps * 3.6
    return 0.15 * v_kmh + v_kmh * v_kmh / 130.0


@dataclass(frozen=True)
class SafetyParams:
    heartbeat_timeout_s: float = doc(0.6, 'fleet heartbeat age that triggers an emergency stop: three missed 0.2 s beats [s]')
    obstacle_margin_m: float = doc(5.0, 'stop this far short of an obstacle seen by the range sensor [m]')
    min_gap_m: float = doc(20.0, 'least bumper-to-bumper gap kept to a vehicle ahead [m]')
    ttc_emergency_s: float = doc(3.0, 'time to collision under which hard braking is allowed [s]')
    comfort_decel_mps2: float = doc(1.0, 'deceleration the speed caps are built for [m/s^2]')
    service_decel_mps2: float = doc(2.5, 'more than this needed -> emergency braking [m/s^2]')
    response_lag_s: float = doc(0.9, 'command-to-wheel lag the speed caps allow for: delay, speed loop, brake build-up [s]')
    slow_protection_level_m: float = doc(0.5, 'protection level above which the vehicle creeps [m]')
    integrity_slow_speed_mps: float = doc(2.0, 'creep speed while the protection level is high [m/s]')
    stop_protection_level_m: float = doc(2.0, 'protection level above which the vehicle holds [m]')


@dataclass(frozen=True)
class SafetyInputs:
    speed_mps: float
    heartbeat_age_s: float = 0.0            # inf when never received
    estop: bool = False
    obstacle_range_m: float = math.inf      # front bumper to nearest obstacle in the corridor [m]
    closing_speed_mps: float = 0.0          # rate the obstacle range shrinks [m/s]
    lead_gap_m: float = math.inf            # front bumper to the rear of the vehicle ahead [m]
    zone_limit_mps: float = math.inf
    protection_level_m: float = 0.0


@dataclass(frozen=True)
class SafetyDecision:
    speed_cap_mps: float = math.inf
    emergency: bool = False
    reason: str = ''


class SafetyMonitor:
    """Stateless rules from SafetyParams; assess() runs every control period."""

    def __init__(self, params: SafetyParams):
        self.params = params

    def assess(self, s: SafetyInputs) -> SafetyDecision:
        p = self.params
        if s.estop:
            return SafetyDecision(0.0, True, 'e-stop requested')
        if not s.heartbeat_age_s <= p.heartbeat_timeout_s:            # NaN included
            age = 'never received' if math.isinf(s.heartbeat_age_s) else f'{s.heartbeat_age_s:.2f} s old'
            return SafetyDecision(0.0, True, f'fleet heartbeat lost ({age}, limit {p.heartbeat_timeout_s} s)')
        cap, reason = s.zone_limit_mps, 'zone speed limit' if math.isfinite(s.zone_limit_mps) else ''
        if not s.protection_level_m <= p.stop_protection_level_m:
            cap, reason = 0.0, f'holding: localization integrity lost (protection level {s.protection_level_m:.2f} m)'
        elif s.protection_level_m > p.slow_protection_level_m and p.integrity_slow_speed_mps < cap:
            cap, reason = p.integrity_slow_speed_mps, f'creeping: protection level {s.protection_level_m:.2f} m'
        for room, what in ((s.obstacle_range_m - p.obstacle_margin_m, 'obstacle'),
                           (s.lead_gap_m - p.min_gap_m, 'vehicle ahead')):
            if math.isnan(room):
                room = 0.0                                             # unreadable: assume it is close
            if not math.isfinite(room):
                continue
            if room <= 0.0:
                if s.speed_mps > EMERGENCY_ABOVE_MPS:
                    return SafetyDecision(0.0, True, f'{what} within the stopping margin')
                return SafetyDecision(0.0, False, f'holding: {what} ahead')
            needed = s.speed_mps ** 2 / (2.0 * room)
            closing = s.closing_speed_mps if what == 'obstacle' else s.speed_mps
            ttc = room / closing if closing > 0.0 else math.inf
            if needed > p.service_decel_mps2 and ttc < p.ttc_emergency_s and s.speed_mps > EMERGENCY_ABOVE_MPS:
                return SafetyDecision(0.0, True, f'{what} {room + 0.0:.1f} m past the margin, '
                                                 f'time to collision {ttc:.1f} s')
            limit = math.sqrt(2.0 * p.comfort_decel_mps2 * max(room - s.speed_mps * p.response_lag_s, 0.0))
            if limit < cap:
                cap, reason = limit, f'slowing for {what}'
        return SafetyDecision(cap, False, reason)
