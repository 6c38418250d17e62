"""`smartgate demo`: bring the stack up as separate processes, drive the legs, report, shut down.

The supervisor is itself a ROS 2 node on simulated time: it sends FollowRoute goals, watches
ground truth to measure what the vehicle really did, records the run to MCAP, and writes a
result folder (summary.json, trajectory.png, run.mcap, logs/).
"""
from __future__ import annotations

import json
import math
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rclpy
from nav_msgs.msg import Odometry
from rclpy.action import ActionClient
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.signals import SignalHandlerOptions
from std_msgs.msg import Header

from smartgate_common import qos
from smartgate_common.convert import quaternion_to_yaw, to_seconds
from smartgate_core.plot import trajectory_figure
from smartgate_interfaces.action import FollowRoute
from smartgate_interfaces.msg import LocalizationStatus, VehicleState

from .processes import NodeDied, ProcessGroup
from .recorder import McapRecorder
from .stack import STACK, DemoConfig, node_argv

RESULT_NAMES = {v: k for k, v in vars(FollowRoute.Result).items() if k.isupper() and isinstance(v, int)}


class RunFailed(RuntimeError):
    """The stack came up but the run did not complete; the message says where it stopped."""


@dataclass
class Track:
    """Poses received on one Odometry topic: rows of (t, x, y, yaw, speed)."""

    rows: list = field(default_factory=list)

    def add(self, msg):
        p = msg.pose.pose
        self.rows.append((to_seconds(msg.header.stamp), p.position.x, p.position.y,
                          quaternion_to_yaw(p.orientation), msg.twist.twist.linear.x))

    def array(self, start=0):
        return np.asarray(self.rows[start:], dtype=float).reshape(-1, 5)


class Supervisor(Node):
    def __init__(self, cfg: DemoConfig, mcap_path: Path):
        super().__init__('demo_supervisor', parameter_overrides=[Parameter('use_sim_time', value=True)])
        ns = f'/{cfg.vehicle_id}'
        self.truth, self.estimate = Track(), Track()
        self.loc_status = None
        self.vehicle_state = None
        self.feedback = None
        self.create_subscription(Odometry, f'{ns}/ground_truth/odom', self.truth.add, qos.SENSOR)
        self.create_subscription(Odometry, f'{ns}/localization/odometry', self.estimate.add, qos.SENSOR)
        self.create_subscription(LocalizationStatus, f'{ns}/localization/status',
                                 lambda m: setattr(self, 'loc_status', m), qos.STATUS)
        self.create_subscription(VehicleState, f'{ns}/vehicle/state',
                                 lambda m: setattr(self, 'vehicle_state', m), qos.STATUS)
        self.client = ActionClient(self, FollowRoute, f'{ns}/follow_route')
        # Stand-in for the fleet manager (not built yet): its heartbeat, without which vehicles stop.
        heartbeat = self.create_publisher(Header, '/fleet/heartbeat', qos.STATUS)
        self.create_timer(0.2, lambda: heartbeat.publish(Header(stamp=self.get_clock().now().to_msg(),
                                                                 frame_id='demo_supervisor')))
        topics = {
            '/clock': 'rosgraph_msgs/msg/Clock', '/map/markers': 'visualization_msgs/msg/MarkerArray',
            '/diagnostics': 'diagnostic_msgs/msg/DiagnosticArray',
            f'{ns}/gnss/fix': 'sensor_msgs/msg/NavSatFix', f'{ns}/imu/data': 'sensor_msgs/msg/Imu',
            f'{ns}/odom/wheel': 'nav_msgs/msg/Odometry', f'{ns}/ground_truth/odom': 'nav_msgs/msg/Odometry',
            f'{ns}/localization/odometry': 'nav_msgs/msg/Odometry',
            f'{ns}/localization/status': 'smartgate_interfaces/msg/LocalizationStatus',
            f'{ns}/cmd_drive': 'smartgate_interfaces/msg/DriveCommand',
            f'{ns}/route/progress': 'smartgate_interfaces/msg/RouteProgress',
            f'{ns}/route/active': 'smartgate_interfaces/msg/Route',
            f'{ns}/vehicle/state': 'smartgate_interfaces/msg/VehicleState',
            f'{ns}/vehicle/markers': 'visualization_msgs/msg/MarkerArray',
        }
        latched = {'/map/markers', f'{ns}/route/active'}
        qos_by_topic = {t: qos.LATCHED if t in latched else qos.CLOCK if t == '/clock' else
                        qos.COMMAND if t.endswith('cmd_drive') else qos.SENSOR for t in topics}
        self.recorder = McapRecorder(self, mcap_path, topics, qos_by_topic)

    def now_s(self):
        return self.get_clock().now().nanoseconds * 1e-9


def _wait(predicate, timeout_s, procs, what):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        procs.check()
        if time.monotonic() > deadline:
            raise RunFailed(f'timed out after {timeout_s:.0f} s waiting for {what}')
        time.sleep(0.05)


def run_demo(cfg: DemoConfig, lane_map, out_dir: Path, say=print, serve=False) -> dict:
    """Run the demo; return the summary (also written to out_dir/summary.json).

    serve: after the legs (none for `smartgate stack`), keep the stack and the heartbeat up for
    other clients (the commander API, RViz) until Ctrl-C.
    """
    wall0 = time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    legs_out, failure = [], None
    with ProcessGroup(out_dir / 'logs') as procs:
        say(f'starting {len(STACK)} nodes (logs in {out_dir / "logs"})')
        for spec in STACK:
            procs.start(spec.name, node_argv(spec, cfg), env)
        rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
        executor = SingleThreadedExecutor()
        sup = Supervisor(cfg, out_dir / 'run.mcap')
        executor.add_node(sup)
        spin = threading.Thread(target=executor.spin, daemon=True)
        spin.start()
        try:
            _wait(lambda: sup.client.server_is_ready(), cfg.startup_timeout_s, procs, 'the follow_route action')
            _wait(lambda: sup.loc_status is not None and sup.loc_status.mode not in (
                LocalizationStatus.MODE_INITIALIZING, LocalizationStatus.MODE_LOST),
                cfg.startup_timeout_s, procs, 'localization to initialize')
            _wait(lambda: sup.vehicle_state is not None and not sup.vehicle_state.safety_reason,
                  cfg.startup_timeout_s, procs, 'the route follower to have a fresh pose and heartbeat')
            say(f'stack up in {time.monotonic() - wall0:.1f} s; localization mode {sup.loc_status.mode}, '
                f'protection level {sup.loc_status.protection_level_m:.3f} m')
            for i, leg in enumerate(cfg.legs):
                legs_out.append(_drive_leg(sup, procs, cfg, lane_map, leg, f'leg {i + 1}/{len(cfg.legs)}', say))
                if leg.dwell_s > 0:
                    say(f'  holding {leg.dwell_s:.0f} s (sim) at {legs_out[-1]["stop_node_id"]}')
                    until = sup.now_s() + leg.dwell_s
                    _wait(lambda: sup.now_s() >= until, cfg.sim_timeout_s, procs, 'the dwell to end')
            if serve:
                say(f'serving: /{cfg.vehicle_id}/follow_route is ready; Ctrl-C stops the stack')
                try:
                    _wait(lambda: False, math.inf, procs, 'Ctrl-C')
                except KeyboardInterrupt:
                    say('stopping the stack')
        except (RunFailed, NodeDied) as exc:
            failure = str(exc)
            say(f'run failed: {failure}')
        finally:
            sim_seconds = sup.now_s()
            sup.recorder.close()
            executor.shutdown()
            sup.destroy_node()
            rclpy.shutdown()
    summary = _summary(cfg, legs_out, failure, sim_seconds, time.monotonic() - wall0, sup, out_dir)
    truth, est = sup.truth.array(), sup.estimate.array()
    if legs_out:
        trajectory_figure(lane_map, [dict(leg, route=lane_map.route(leg['route_id'])) for leg in legs_out],
                          truth[:, 1:3], est[:, 1:3], out_dir / 'trajectory.png',
                          f'{cfg.vehicle_id} on {lane_map.name}: '
                          f"stop error {summary['stop_error_m'] * 100:.1f} cm, "
                          f"max cross-track {summary['max_cross_track_m'] * 100:.1f} cm")
    (out_dir / 'summary.json').write_text(json.dumps(summary, indent=2) + '\n')
    return summary


def _drive_leg(sup, procs, cfg, lane_map, leg, label, say):
    route = lane_map.route(leg.route_id)
    say(f'{label}: {leg.route_id} ({route.length_m:.0f} m) to {route.stop_node_id}')
    start_row, start_s = len(sup.truth.rows), sup.now_s()
    send = sup.client.send_goal_async(FollowRoute.Goal(route_id=leg.route_id, precise_stop=leg.precise_stop),
                                      feedback_callback=lambda fb: setattr(sup, 'feedback', fb.feedback.progress))
    _wait(send.done, 10.0, procs, f'the goal {leg.route_id} to be accepted')
    handle = send.result()
    if not handle.accepted:
        raise RunFailed(f'goal {leg.route_id} was rejected')
    result_future = handle.get_result_async()
    last_print = 0.0
    while not result_future.done():
        procs.check()
        if sup.now_s() - start_s > cfg.sim_timeout_s:
            handle.cancel_goal_async()
            raise RunFailed(f'{leg.route_id} not finished after {cfg.sim_timeout_s:.0f} s of simulated time')
        fb = sup.feedback
        if fb is not None and time.monotonic() - last_print > 2.0:
            last_print = time.monotonic()
            say(f'  [sim {sup.now_s():6.1f} s] {fb.distance_travelled_m:6.1f}/{route.length_m:.0f} m  '
                f'{fb.speed_mps * 3.6:4.1f} km/h  cross-track {fb.cross_track_error_m * 100:+5.1f} cm  '
                f'ETA {fb.eta.sec:3d} s')
        time.sleep(0.05)
    result = result_future.result().result
    if result.error_code != FollowRoute.Result.NONE:
        raise RunFailed(f'{leg.route_id}: {RESULT_NAMES.get(result.error_code, result.error_code)}: '
                        f'{result.error_msg}')
    # measure the true stop once the vehicle stands still
    settle = sup.now_s() + 3.0
    _wait(lambda: sup.truth.rows and (abs(sup.truth.rows[-1][4]) < 0.001 or sup.now_s() > settle),
          30.0, procs, 'the vehicle to stand still')
    truth = sup.truth.array(start_row)
    t, x, y, yaw = truth[-1, :4]
    gx, gy = route.xy[-1]
    xtrack, s_hint = [], None
    for row in truth:
        proj = route.project(row[1], row[2], s_hint)
        s_hint = proj.s_m
        xtrack.append(abs(proj.lateral_m))
    out = {'route_id': leg.route_id, 'stop_node_id': route.stop_node_id,
           'stop_error_m': round(math.hypot(x - gx, y - gy), 4),
           'stop_heading_error_deg': round(math.degrees(math.remainder(yaw - route.heading[-1], 2 * math.pi)), 3),
           'estimated_stop_error_m': round(result.stop_error_m, 4),
           'max_cross_track_m': round(max(xtrack), 4), 'length_m': round(route.length_m, 1),
           'sim_seconds': round(t - start_s, 2), 'max_speed_kmh': round(float(truth[:, 4].max()) * 3.6, 2),
           'stop_xy': [x, y], 'truth_slice': slice(start_row, start_row + len(truth))}
    say(f'  stopped {out["stop_error_m"] * 100:.1f} cm from {route.stop_node_id} (true), '
        f'{out["estimated_stop_error_m"] * 100:.1f} cm estimated; max cross-track {out["max_cross_track_m"] * 100:.1f} cm')
    return out


def _summary(cfg, legs, failure, sim_seconds, wall_seconds, sup, out_dir):
    completed = failure is None and len(legs) == len(cfg.legs) and bool(legs)
    return {
        'route_completed': completed,
        'stop_error_m': max((leg['stop_error_m'] for leg in legs), default=None),
        'max_cross_track_m': max((leg['max_cross_track_m'] for leg in legs), default=None),
        'max_speed_kmh': max((leg['max_speed_kmh'] for leg in legs), default=None),
        'sim_seconds': round(sim_seconds, 2),
        'wall_seconds': round(wall_seconds, 2),
        'failure': failure,
        'vehicle_id': cfg.vehicle_id,
        'seed': cfg.vehicle['seed'],
        'real_time_factor': cfg.real_time_factor,
        'map': cfg.map_file.name,
        'legs': [{k: v for k, v in leg.items() if k not in ('stop_xy', 'truth_slice')} for leg in legs],
        'recorded_messages': dict(sup.recorder.counts),
        'result_dir': str(out_dir),
    }
