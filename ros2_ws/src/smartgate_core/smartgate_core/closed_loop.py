"""The fleet-scale simulator's inner loop: one vehicle, its sensors, the estimator, the tracker and
the safety monitor, all in one process on simulated time, with the same core classes the nodes run.

Used by the benchmarks and the tests; the ROS nodes wire the very same pieces over DDS.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .controller import STATE_OFF_ROUTE, STATE_SAFETY_STOP, STATE_STOPPED, ControllerParams, RouteTracker
from .estimator import EstimatorParams, PoseEstimator
from .route import Route
from .safety import SafetyInputs, SafetyMonitor, SafetyParams
from .simulation import VehicleSimulator
from .vehicle_model import DriveCommand, VehicleParams, VehicleState

CONTROL_PERIOD_S = 0.05


@dataclass
class Scenario:
    """What happens during a drive; every time is simulated seconds from the start."""

    estop_at_s: float = math.inf
    heartbeat_stops_at_s: float = math.inf
    heartbeat_period_s: float = 0.2
    obstacles: list = field(default_factory=list)    # discs (x, y, radius) on the way [m]
    max_sim_s: float = 600.0


@dataclass
class Trace:
    t: list = field(default_factory=list)
    truth: list = field(default_factory=list)        # (x, y, yaw, speed, accel)
    estimate: list = field(default_factory=list)     # (x, y, yaw)
    cross_track_m: list = field(default_factory=list)
    state: str = ''
    reason: str = ''
    control_step_s: list = field(default_factory=list)
    last_heartbeat_s: float = math.nan

    def arrays(self):
        return np.asarray(self.t), np.asarray(self.truth), np.asarray(self.estimate)


def drive(route: Route, seed: int, payload_kg=0.0, tracker_factory=RouteTracker, scenario=None,
          vehicle=VehicleParams(), controller=ControllerParams(), estimator=EstimatorParams(),
          safety=SafetyParams(), use_estimator=True) -> Trace:
    """Drive `route` from its start to its stop point (or until the scenario stops the vehicle)."""
    scenario = scenario or Scenario()
    x0, y0 = route.xy[0]
    sim = VehicleSimulator(vehicle, VehicleState(float(x0), float(y0), float(route.heading[0])), seed, payload_kg,
                           obstacles=list(scenario.obstacles))
    est = PoseEstimator(estimator)
    tracker = tracker_factory(controller)
    tracker.set_route(route, True, payload_kg)
    monitor = SafetyMonitor(safety)
    trace = Trace()
    every = round(CONTROL_PERIOD_S / sim.dt_s)
    command, speed, yaw_rate, ahrs_yaw, last_beat = DriveCommand(), 0.0, 0.0, None, 0.0
    obstacle_range, closing = math.inf, 0.0
    while sim.t_s < scenario.max_sim_s:
        out = sim.step(command)
        t = out.t_s
        if out.imu is not None:
            yaw_rate, ahrs_yaw = out.imu.yaw_rate_radps, out.imu.yaw_rad
        if out.odometry_speed_mps is not None:
            speed = out.odometry_speed_mps
        if out.range_m is not None:
            closing = speed if math.isfinite(out.range_m) else 0.0     # obstacles are static
            obstacle_range = out.range_m
        if out.gnss is not None and not est.initialized and ahrs_yaw is not None:   # as the node does
            est.initialize(t, (out.gnss.x_m, out.gnss.y_m), ahrs_yaw, out.gnss.sigma_m)
        elif est.initialized:
            est.predict(t, speed, yaw_rate)
            if out.gnss is not None:
                est.update_gnss((out.gnss.x_m, out.gnss.y_m), np.eye(2) * out.gnss.sigma_m ** 2)
                est.update_heading(out.gnss.heading_rad, out.gnss.heading_sigma_rad ** 2)
        if sim.step_count % every or not est.initialized:
            continue
        if t < scenario.heartbeat_stops_at_s and t - last_beat >= scenario.heartbeat_period_s - 1e-9:
            last_beat = t
        truth = out.truth
        pose = est.x[:3] if use_estimator else (truth.x_m, truth.y_m, truth.yaw_rad)
        decision = monitor.assess(SafetyInputs(speed, t - last_beat, t >= scenario.estop_at_s,
                                               obstacle_range, closing))
        started = time.perf_counter()
        control = tracker.step(float(pose[0]), float(pose[1]), float(pose[2]), speed, CONTROL_PERIOD_S, decision)
        trace.control_step_s.append(time.perf_counter() - started)
        command = control.command
        trace.t.append(t)
        trace.truth.append((truth.x_m, truth.y_m, truth.yaw_rad, truth.speed_mps, truth.accel_mps2))
        trace.estimate.append(tuple(float(v) for v in pose))
        trace.cross_track_m.append(route.project(truth.x_m, truth.y_m,
                                                 trace.cross_track_m and control.s_m or None).lateral_m)
        trace.state, trace.reason = control.state, decision.reason
        trace.last_heartbeat_s = last_beat
        done = control.state in (STATE_STOPPED, STATE_SAFETY_STOP, STATE_OFF_ROUTE)
        if done and truth.speed_mps < 1e-4:
            break
    return trace
