"""The fleet-scale simulator's inner loop: one vehicle, its sensors, the estimator, the tracker and
the safety monitor, all in one process on simulated time, with the same core classes the nodes run.

Used by the benchmarks and the tests; the ROS nodes wire the very same pieces over DDS.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..driving.controller import STATE_OFF_ROUTE, STATE_SAFETY_STOP, STATE_STOPPED, ControllerParams, RouteTracker
from ..localization.estimator import EstimatorParams
from ..localization.localizer import Localizer, LocalizerParams
from ..route import Route
from ..driving.safety import SafetyInputs, SafetyMonitor, SafetyParams
from .vehicle import VehicleSimulator
from ..driving.command import DriveCommand
from .vehicle_model import VehicleParams, VehicleState

CONTROL_PERIOD_S = 0.05


@dataclass
class Scenario:
    """What happens during a drive; every time is simulated seconds from the start."""

    estop_at_s: float = math.inf
    heartbeat_stops_at_s: float = math.inf
    heartbeat_period_s: float = 0.2
    obstacles: list = field(default_factory=list)    # discs (x, y, radius) on the way [m]
    gnss_environment: object = None                 # GnssEnvironment: outages, multipath
    gnb_sites: dict = field(default_factory=dict)    # 5G sites (x, y) by id
    max_sim_s: float = 600.0


@dataclass
class Trace:
    t: list = field(default_factory=list)
    truth: list = field(default_factory=list)        # (x, y, yaw, speed, accel)
    estimate: list = field(default_factory=list)     # (x, y, yaw)
    protection_level_m: list = field(default_factory=list)
    mode: list = field(default_factory=list)
    cross_track_m: list = field(default_factory=list)
    state: str = ''
    reason: str = ''
    control_step_s: list = field(default_factory=list)
    last_heartbeat_s: float = math.nan

    def arrays(self):
        return np.asarray(self.t), np.asarray(self.truth), np.asarray(self.estimate)


def feed(loc: Localizer, out):
    """Hand one simulator step's sensor readings to the localizer, as the localization node does."""
    t = out.t_s
    if out.imu is not None:
        loc.imu(t, out.imu.yaw_rate_radps, out.imu.yaw_rad)
    if out.odometry_speed_mps is not None:
        loc.odometry(t, out.odometry_speed_mps)
    if out.gnss is not None:
        g = out.gnss
        loc.gnss(t, g.fix_type, (g.x_m, g.y_m), np.eye(2) * (g.sigma_m ** 2 if math.isfinite(g.sigma_m) else 1.0))
        if math.isfinite(g.heading_rad):
            loc.gnss_heading(t, g.heading_rad, g.heading_sigma_rad ** 2)
    if out.fiveg_fix is not None:
        f = out.fiveg_fix
        loc.fiveg_fix(t, (f.x_m, f.y_m), np.eye(2) * f.sigma_m ** 2)
    if out.fiveg_ranges is not None:
        r = out.fiveg_ranges
        loc.fiveg_ranges(t, r.site_ids, r.ranges_m, r.sigma_m)


def drive(route: Route, seed: int, payload_kg=0.0, tracker_factory=RouteTracker, scenario=None,
          vehicle=VehicleParams(), controller=ControllerParams(), estimator=EstimatorParams(),
          safety=SafetyParams(), use_estimator=True) -> Trace:
    """Drive `route` from its start to its stop point (or until the scenario stops the vehicle)."""
    scenario = scenario or Scenario()
    x0, y0 = route.xy[0]
    sim = VehicleSimulator(vehicle, VehicleState(float(x0), float(y0), float(route.heading[0])), seed, payload_kg,
                           obstacles=list(scenario.obstacles), gnb_sites=dict(scenario.gnb_sites))
    if scenario.gnss_environment is not None:
        sim.gnss.environment = scenario.gnss_environment
    loc = Localizer(LocalizerParams(), estimator, scenario.gnb_sites)
    tracker = tracker_factory(controller)
    tracker.set_route(route, True, payload_kg)
    monitor = SafetyMonitor(safety)
    trace = Trace()
    every = round(CONTROL_PERIOD_S / sim.dt_s)
    command, last_beat = DriveCommand(), 0.0
    obstacle_range, closing = math.inf, 0.0
    while sim.t_s < scenario.max_sim_s:
        out = sim.step(command)
        t = out.t_s
        feed(loc, out)
        if out.range_m is not None:
            closing = loc.speed_mps if math.isfinite(out.range_m) else 0.0     # obstacles are static
            obstacle_range = out.range_m
        est = loc.estimator
        if sim.step_count % every or not est.initialized:
            continue
        if t < scenario.heartbeat_stops_at_s and t - last_beat >= scenario.heartbeat_period_s - 1e-9:
            last_beat = t
        truth = out.truth
        # the estimate extrapolated to now, as the node publishes it
        pose = est.pose_at(t, loc.speed_mps, loc.yaw_rate_radps) if use_estimator else (truth.x_m, truth.y_m, truth.yaw_rad)
        speed = loc.speed_mps
        decision = monitor.assess(SafetyInputs(speed, t - last_beat, t >= scenario.estop_at_s,
                                               obstacle_range, closing,
                                               protection_level_m=est.protection_level_m))
        started = time.perf_counter()
        control = tracker.step(float(pose[0]), float(pose[1]), float(pose[2]), speed, CONTROL_PERIOD_S, decision)
        trace.control_step_s.append(time.perf_counter() - started)
        command = control.command
        trace.t.append(t)
        trace.truth.append((truth.x_m, truth.y_m, truth.yaw_rad, truth.speed_mps, truth.accel_mps2))
        trace.estimate.append(tuple(float(v) for v in pose))
        trace.protection_level_m.append(est.protection_level_m)
        trace.mode.append(loc.mode())
        trace.cross_track_m.append(route.project(truth.x_m, truth.y_m,
                                                 trace.cross_track_m and control.s_m or None).lateral_m)
        trace.state, trace.reason = control.state, decision.reason
        trace.last_heartbeat_s = last_beat
        done = control.state in (STATE_STOPPED, STATE_SAFETY_STOP, STATE_OFF_ROUTE)
        if done and truth.speed_mps < 1e-4:
            break
    return trace
