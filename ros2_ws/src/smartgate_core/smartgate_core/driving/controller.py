"""Route tracking: curvature feed-forward with state feedback for steering, a speed profile, and a
precision docking stage for stops under a crane.

Steering (kinematic bicycle at the rear axle, in path coordinates): with lateral error e_y and
heading error e_psi, d(e_y)/ds = e_psi and d(e_psi)/ds = kappa_vehicle - kappa_path. Commanding
kappa_vehicle = kappa_path - w^2 e_y - 2 zeta w e_psi makes e_y'' + 2 zeta w e_y' + w^2 e_y = 0
in distance, with w = omega_n / v so the error decays at the same rate in time at any speed. The
errors are taken at the pose predicted one actuator lag ahead (along the path's curvature). Two
things a kinematic model misses are added from nominal figures (never the simulator's): in a steady
turn the tyres slip, so base_link runs with its heading beta = a_y / (g c) into the turn (c the
tyres' cornering stiffness per unit load), which the heading error discounts; and a slow integral
of the lateral error takes out what is left over the route (the road's crossfall, a steady
crosswind, tyres that are not what the figure says): e_y''' + 2 zeta w e_y'' + w^2 e_y' + w_i w^2 e_y
= 0 in time, stable for w_i < 2 zeta omega_n, its curvature clamped so it cannot wind up.

Speed: the lowest of the route's limits, the lateral-acceleration limit sqrt(a_lat / |kappa|) (a_lat
shrinks with the payload: a laden container rides high), a braking curve to the stop point
(v^2 = 2 a d, lag-compensated) and the safety monitor's cap; speeding up is limited to comfort
acceleration and jerk, slowing down is not limited here. Within `dock_distance_m` of the stop, speed is proportional to the
remaining distance (a critically damped approach given the speed lag), down to a creep speed, and
the vehicle holds at zero once within `stop_tolerance_m`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..route import Route, wrap_angle
from .command import DriveCommand
from ..params import doc
from .safety import SafetyDecision

STATE_DRIVING, STATE_DOCKING, STATE_STOPPED, STATE_OFF_ROUTE = 'driving', 'docking', 'stopped', 'off_route'
STATE_SAFETY_STOP = 'safety_stop'
G_MPS2 = 9.80665
NO_OVERRIDE = SafetyDecision()


@dataclass(frozen=True)
class ControllerParams:
    wheelbase_m: float = doc(9.0, 'rear to front axle [m]')
    max_steer_rad: float = doc(0.524, 'front-wheel lock [rad]')
    lateral_omega_radps: float = doc(0.8, 'closed-loop lateral natural frequency in time [rad/s]')
    lateral_damping: float = doc(0.9, 'closed-loop lateral damping ratio')
    max_spatial_omega_1pm: float = doc(0.3, 'caps the gains at low speed [1/m]')
    actuator_lag_s: float = doc(0.35, 'steering lag + delay the errors are predicted over [s]')
    feedforward_preview_s: float = doc(0.15, 'the curvature feed-forward looks this much further ahead (steering rate limit) [s]')
    tyre_cornering_coefficient_1prad: float = doc(7.0, 'nominal cornering stiffness per unit axle load (truck tyres) [1/rad]')
    lateral_integral_1ps: float = doc(0.5, 'integral action on the lateral error, w_i [1/s]')
    max_integral_curvature_1pm: float = doc(0.002, 'largest curvature the integral may add [1/m]')
    integral_min_speed_mps: float = doc(1.0, 'the integral holds below this speed (docking, standing) [m/s]')
    max_speed_mps: float = doc(8.333, 'top speed on the smart lane, 30 km/h [m/s]')
    max_lateral_accel_mps2: float = doc(1.0, 'lateral acceleration limit unladen [m/s^2]')
    laden_lateral_accel_mps2: float = doc(0.7, 'lateral acceleration limit at full payload [m/s^2]')
    full_payload_kg: float = doc(60000.0, 'payload of laden_lateral_accel_mps2 [kg]')
    comfort_accel_mps2: float = doc(0.8, 'command ramp-up [m/s^2]')
    comfort_jerk_mps3: float = doc(0.6, 'rate of change of the ramp-up acceleration [m/s^3]')
    comfort_decel_mps2: float = doc(1.0, 'braking curve to stops [m/s^2]')
    speed_lag_s: float = doc(0.8, 'drive lag + delay, for the braking curve [s]')
    dock_distance_m: float = doc(4.0, 'precision approach starts here [m]')
    dock_gain_1ps: float = doc(0.5, 'speed per metre remaining while docking [1/s]')
    creep_speed_mps: float = doc(0.03, 'least docking speed until the stop [m/s]')
    stop_tolerance_m: float = doc(0.01, 'hold once this close to the stop point [m]')
    max_cross_track_m: float = doc(1.0, 'cross-track error that triggers a safety stop [m]')


@dataclass
class ControlOutput:
    command: DriveCommand
    state: str
    s_m: float                 # progress along the route [m]
    remaining_m: float
    cross_track_m: float       # left positive [m]
    heading_error_rad: float
    target_speed_mps: float


class RouteTracker:
    """Holds a route and turns (pose, speed) into drive commands; no ROS, no clocks of its own."""

    def __init__(self, params: ControllerParams):
        self.params = params
        self.route = None
        self._profile = None
        self._s = 0.0
        self._last_speed_cmd = 0.0
        self._last_accel_cmd = 0.0
        self.state = STATE_STOPPED

    def lateral_accel_limit(self, payload_kg):
        """Lateral acceleration allowed with this payload, interpolated empty -> full [m/s^2]."""
        p = self.params
        share = min(max(payload_kg / p.full_payload_kg, 0.0), 1.0)
        return p.max_lateral_accel_mps2 + share * (p.laden_lateral_accel_mps2 - p.max_lateral_accel_mps2)

    def set_route(self, route: Route, precise_stop: bool = True, payload_kg: float = 0.0):
        """Start following `route` from wherever the vehicle is on it."""
        p = self.params
        self.route, self.precise_stop = route, precise_stop
        a_lat = self.lateral_accel_limit(payload_kg)
        curvature_limit = np.sqrt(a_lat / np.maximum(np.abs(route.curvature), 1e-6))
        v = np.minimum.reduce([route.speed_limit_mps, curvature_limit, np.full_like(route.s, p.max_speed_mps)])
        # backward pass: never faster than can be braked (comfortably) to the next limit
        ds = np.diff(route.s)
        for i in range(len(v) - 2, -1, -1):
            v[i] = min(v[i], math.sqrt(v[i + 1] ** 2 + 2.0 * p.comfort_decel_mps2 * ds[i]))
        self._profile = v
        # time to go along the profile, with the docking law of _speed() over the last metres
        remaining = route.length_m - route.s
        floor = p.creep_speed_mps if precise_stop else 0.05
        docking = np.maximum(p.dock_gain_1ps * remaining, floor)
        v_eta = np.where(remaining <= p.dock_distance_m, np.minimum(v, docking), v)
        # the vehicle answers speed_lag_s late: where it stands it still has the speed commanded behind
        v_eta = np.interp(route.s - v_eta * p.speed_lag_s, route.s, v_eta)
        slowness = 1.0 / np.maximum(v_eta, floor)
        self._time_along = np.concatenate([[0.0], np.cumsum(0.5 * (slowness[1:] + slowness[:-1]) * ds)])
        self._s = None
        self._lateral_integral_ms = 0.0          # time integral of the lateral error [m s]
        self.state = STATE_DRIVING

    def eta_s(self, s_m) -> float:
        """Time to the stop point from arc length s_m, driving the speed profile [s]."""
        return float(self._time_along[-1] - np.interp(s_m, self.route.s, self._time_along))

    def step(self, x_m, y_m, yaw_rad, speed_mps, dt_s, safety: SafetyDecision = NO_OVERRIDE) -> ControlOutput:
        """One control period: pose of base_link in the map frame, measured speed, period [s], and
        the safety monitor's decision (an emergency latches the safety_stop state)."""
        p, route = self.params, self.route
        proj = route.project(x_m, y_m, self._s)
        self._s = proj.s_m
        remaining = route.length_m - proj.s_m
        heading_error = float(wrap_angle(yaw_rad - proj.heading_rad))
        if abs(proj.lateral_m) > p.max_cross_track_m and self.state != STATE_STOPPED:
            self.state = STATE_OFF_ROUTE
        if safety.emergency and self.state != STATE_STOPPED:
            self.state = STATE_SAFETY_STOP
        if self.state in (STATE_STOPPED, STATE_OFF_ROUTE, STATE_SAFETY_STOP):
            self._last_speed_cmd = self._last_accel_cmd = 0.0
            steer = self._steer(x_m, y_m, yaw_rad, speed_mps, proj.curvature_1pm, 0.0) \
                if self.state == STATE_SAFETY_STOP else 0.0      # keep to the lane while braking
            return ControlOutput(DriveCommand(0.0, steer, 0.0, self.state != STATE_STOPPED), self.state,
                                 proj.s_m, remaining, proj.lateral_m, heading_error, 0.0)
        steer = self._steer(x_m, y_m, yaw_rad, speed_mps, proj.curvature_1pm, dt_s)
        target = self._speed(proj.s_m, remaining, speed_mps, dt_s, safety.speed_cap_mps)
        return ControlOutput(DriveCommand(target, steer), self.state, proj.s_m, remaining,
                             proj.lateral_m, heading_error, target)

    def _steer(self, x_m, y_m, yaw_rad, speed_mps, path_curvature, dt_s):
        p = self.params
        # predict the pose one actuator lag ahead along an arc of the path's curvature (the vehicle
        # is assumed to be following it, base_link moving along its course: the heading less the
        # tyres' slip), then feed back the errors there
        d = speed_mps * p.actuator_lag_s
        course = yaw_rad - self._slip(speed_mps, path_curvature)
        yaw_p = yaw_rad + d * path_curvature
        xp = x_m + d * math.cos(course + 0.5 * d * path_curvature)
        yp = y_m + d * math.sin(course + 0.5 * d * path_curvature)
        ahead = self.route.project(xp, yp, self._s)
        e_y = ahead.lateral_m
        e_psi = float(wrap_angle(yaw_p - ahead.heading_rad - self._slip(speed_mps, ahead.curvature_1pm)))
        w = min(p.lateral_omega_radps / max(speed_mps, 0.5), p.max_spatial_omega_1pm)
        gain = p.lateral_integral_1ps * w * w
        if speed_mps > p.integral_min_speed_mps and gain > 0.0:
            limit = p.max_integral_curvature_1pm / gain
            self._lateral_integral_ms = min(max(self._lateral_integral_ms + e_y * dt_s, -limit), limit)
        # the steering slews at a limited rate: feed the curvature forward from a little further on
        feedforward = self.route.sample(ahead.s_m + speed_mps * p.feedforward_preview_s)[3]
        curvature = (feedforward - w * w * e_y - 2.0 * p.lateral_damping * w * math.sin(e_psi)
                     - gain * self._lateral_integral_ms)
        steer = math.atan(p.wheelbase_m * curvature)
        return max(-p.max_steer_rad, min(p.max_steer_rad, steer))

    def _slip(self, speed_mps, curvature_1pm):
        """Angle by which base_link's course runs outside its heading in a steady turn: a_y / (g c) [rad]."""
        return speed_mps * speed_mps * curvature_1pm / (G_MPS2 * self.params.tyre_cornering_coefficient_1prad)

    def _speed(self, s_m, remaining, speed_mps, dt_s, cap_mps):
        p = self.params
        step = self.route.s[-1] / (len(self.route.s) - 1)
        i = min(int(s_m / step), len(self._profile) - 1)
        # the vehicle answers a command about speed_lag_s late: honour limits that close in meanwhile
        ahead = i + 1 + int(3.0 * speed_mps * p.speed_lag_s / step)
        brake_room = max(remaining - speed_mps * p.speed_lag_s, 0.0)
        target = min(float(self._profile[i:ahead].min()), math.sqrt(2.0 * p.comfort_decel_mps2 * brake_room),
                     cap_mps)
        if remaining <= p.dock_distance_m:
            self.state = STATE_DOCKING
            floor = p.creep_speed_mps if self.precise_stop else 0.0
            target = min(target, max(p.dock_gain_1ps * remaining, floor))
        if remaining <= p.stop_tolerance_m:
            self.state = STATE_STOPPED
            target = 0.0
        accel = (target - self._last_speed_cmd) / dt_s
        if accel > 0.0:                      # ramp up within comfort acceleration and jerk
            accel = min(accel, p.comfort_accel_mps2, self._last_accel_cmd + p.comfort_jerk_mps3 * dt_s)
            target = self._last_speed_cmd + accel * dt_s
        self._last_accel_cmd = max(accel, 0.0)
        self._last_speed_cmd = target
        return target

