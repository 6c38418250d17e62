"""Route follower node: the FollowRoute action over the core's RouteTracker.

Drives the vehicle along a route of the lane map (by id) or an explicit path, at
`control_rate_hz` on simulated time, publishing `cmd_drive`. Every goal is accepted and then
checked, so a bad goal ends at once with an error code and a message in its result (the vehicle
does not move). A new goal preempts the running one. Without a fresh pose, or when localization
reports LOST, the vehicle is stopped and the goal aborted; a high protection level slows it. Between goals the vehicle is held.

Safety (core SafetyMonitor, every control period): e-stop (`estop`, `/fleet/estop`), loss of the
fleet manager's heartbeat (`/fleet/heartbeat`), an obstacle on the forward range sensor
(`range/front`) and zone speed limits (`/fleet/zone_speed_limits`) cap the speed or brake hard;
a hard stop ends the goal with SAFETY_STOP and keeps braking until the vehicle stands.

Cranes: while a crane says it is engaged over this vehicle (`crane_hold`, latched, one publisher per
crane), the vehicle holds (speed 0, service brakes), a goal in progress waits, and a new goal is
refused with CRANE_ENGAGED; `vehicle/state.held_by_crane` names the crane, which is how the crane
knows the vehicle holds for it.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import shapely

from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Odometry
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.node import Node
from rclpy.task import Future
from sensor_msgs.msg import Range
from std_msgs.msg import Bool, Header

from smartgate_common import qos
from smartgate_common.convert import all_finite, quaternion_to_yaw, to_duration, to_seconds, yaw_to_quaternion
from smartgate_common.node_main import run
from smartgate_common.parameters import ConfigError, declare, declare_dataclass
from smartgate_core.driving.controller import (STATE_DOCKING, STATE_OFF_ROUTE, STATE_SAFETY_STOP, STATE_STOPPED,
                                       ControllerParams, RouteTracker)
from smartgate_core.lane_map import MapError, UnknownRouteError, load_map
from smartgate_core.route import PathError, Route
from smartgate_core.driving.safety import SafetyDecision, SafetyInputs, SafetyMonitor, SafetyParams
from smartgate_interfaces.action import FollowRoute
from smartgate_interfaces.msg import (CraneHold, DriveCommand, LocalizationStatus, RouteProgress, VehicleState,
                                      ZoneSpeedLimit)
from smartgate_interfaces.msg import Route as RouteMsg
from smartgate_interfaces.srv import GetRoute

Result = FollowRoute.Result


@dataclass
class ActiveGoal:
    handle: object
    route: Route
    tracker: RouteTracker
    start_s: float                 # sim time the goal started [s]
    done: Future                   # completed with (error_code, message) when the goal ends
    progress: RouteProgress = None
    last_feedback_s: float = -math.inf

    def end(self, code, message=''):
        if not self.done.done():
            self.done.set_result((code, message))

    @property
    def running(self):
        return not self.done.done()


class RouteFollowerNode(Node):
    def __init__(self):
        super().__init__('route_follower')
        map_file = declare(self, 'map_file', description='lane map GeoJSON with the routes', required_type=str)
        self.vehicle_id = declare(self, 'vehicle_id', description='id of the vehicle this node drives',
                                  required_type=str)
        rate = declare(self, 'control_rate_hz', 20.0, 'controller rate [Hz, sim time]')
        self.pose_timeout_s = declare(self, 'pose_timeout_s', 0.5,
                                      'stop when the newest pose is older than this [s, sim]')
        self.feedback_period_s = declare(self, 'feedback_period_s', 0.5, 'action feedback period [s, sim]')
        self.goal_timeout_s = declare(self, 'goal_timeout_s', 1800.0, 'abort a goal running longer [s, sim]')
        self.stop_decel_mps2 = declare(self, 'controlled_stop_decel_mps2', 1.5,
                                       'deceleration of a controlled stop (cancel, lost pose) [m/s^2]')
        self.require_heartbeat = declare(self, 'require_fleet_heartbeat', True,
                                         'drive only while the fleet manager heartbeat is fresh')
        self.payload_kg = declare(self, 'payload_kg', 0.0, 'payload on board, for the lateral-acceleration limit [kg]')
        self.state_every = declare(self, 'state_every_n', 4, 'publish vehicle/state every n-th control period')
        self.params = declare_dataclass(self, 'controller', ControllerParams)
        self.monitor = SafetyMonitor(declare_dataclass(self, 'safety', SafetyParams))
        if not 1.0 <= rate <= 200.0:
            raise ConfigError(f'control_rate_hz must be within [1, 200], got {rate}')
        self.dt_s = 1.0 / rate
        try:
            self.lane_map = load_map(map_file)
        except MapError as exc:
            raise ConfigError(str(exc)) from None

        self._lock = threading.RLock()      # _execute may end a goal while holding it
        self._pose = None              # (t_s, x, y, yaw, speed)
        self._loc_status = None
        self._active: ActiveGoal | None = None
        self._heartbeat_s = -math.inf
        self._estop = {'vehicle': False, 'fleet': False}
        self._range = (math.inf, 0.0, -math.inf)      # (range [m], closing speed [m/s], stamp [s])
        self._zone_limits = {}                        # zone id -> imposed limit [m/s]
        self._zones = {z.id: z.geometry for z in self.lane_map.of_kind('speed_zone')}
        self._ticks = 0
        self._crane_holds = {}                # crane id -> engaged over this vehicle
        self._last_steer_rad = 0.0          # the steering of the last command, held by an e-stop

        self.pub_cmd = self.create_publisher(DriveCommand, 'cmd_drive', qos.COMMAND)
        self.pub_progress = self.create_publisher(RouteProgress, 'route/progress', qos.STATUS)
        self.pub_route = self.create_publisher(RouteMsg, 'route/active', qos.LATCHED)
        self.pub_state = self.create_publisher(VehicleState, 'vehicle/state', qos.STATUS)
        self.create_subscription(Odometry, 'localization/odometry', self._on_pose, qos.LATEST)
        self.create_subscription(LocalizationStatus, 'localization/status', self._on_status, qos.LATEST)
        self.create_subscription(Range, 'range/front', self._on_range, qos.LATEST)
        self.create_subscription(Header, '/fleet/heartbeat', self._on_heartbeat, qos.STATUS)
        self.create_subscription(Bool, 'estop', lambda m: self._on_estop('vehicle', m), qos.LATCHED)
        self.create_subscription(Bool, '/fleet/estop', lambda m: self._on_estop('fleet', m), qos.LATCHED)
        self.create_subscription(ZoneSpeedLimit, '/fleet/zone_speed_limits', self._on_zone_limit, qos.LATCHED_LIST)
        self.create_subscription(CraneHold, 'crane_hold', self._on_crane_hold, qos.LATCHED_LIST)
        self.create_service(GetRoute, 'get_route', self._get_route)
        self.create_timer(self.dt_s, self._control)
        self._action = ActionServer(
            self, FollowRoute, 'follow_route', execute_callback=self._execute,
            goal_callback=lambda _: GoalResponse.ACCEPT, cancel_callback=lambda _: CancelResponse.ACCEPT,
            handle_accepted_callback=self._on_accepted)
        self.get_logger().info(f'{self.vehicle_id}: routes {", ".join(self.lane_map.route_ids)}')

    # ---- inputs -------------------------------------------------------------------------
    def _on_pose(self, msg):
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        values = (p.x, p.y, q.x, q.y, q.z, q.w, msg.twist.twist.linear.x)
        if not all_finite(*values):
            self.get_logger().warning('ignored a pose with non-finite fields', throttle_duration_sec=2.0)
            return
        with self._lock:
            self._pose = (to_seconds(msg.header.stamp), p.x, p.y, quaternion_to_yaw(q), msg.twist.twist.linear.x)

    def _on_status(self, msg):
        with self._lock:
            self._loc_status = msg

    def _on_range(self, msg):
        r = msg.range if math.isfinite(msg.range) or msg.range == math.inf else math.nan
        if math.isnan(r) or r < 0.0:
            self.get_logger().warning(f'ignored range reading {msg.range}', throttle_duration_sec=2.0)
            return
        t = to_seconds(msg.header.stamp)
        with self._lock:
            last_r, last_closing, last_t = self._range
            if math.isfinite(r) and math.isfinite(last_r) and t > last_t:
                # range differences are noisy (5 cm over 50 ms is 1 m/s): low-pass the closing speed
                closing = 0.8 * last_closing + 0.2 * max((last_r - r) / (t - last_t), 0.0)
            else:
                closing = 0.0
            self._range = (r, closing, t)

    def _on_heartbeat(self, _msg):
        with self._lock:
            self._heartbeat_s = self._now_s()

    def _on_estop(self, source, msg):
        with self._lock:
            self._estop[source] = bool(msg.data)
        if msg.data:        # brake now, not at the next control period; hold the steering as it was
            cmd = DriveCommand(speed_mps=0.0, steering_angle_rad=self._last_steer_rad, emergency_stop=True)
            cmd.header.stamp = self.get_clock().now().to_msg()
            self.pub_cmd.publish(cmd)
            self.get_logger().error(f'{source} e-stop ENGAGED')
        else:               # (a separate call: rclpy refuses two severities from one call site)
            self.get_logger().info(f'{source} e-stop released')

    def _on_crane_hold(self, msg):
        if msg.vehicle_id not in ('', self.vehicle_id) or not msg.crane_id:
            self.get_logger().warning(f"ignored a crane hold from '{msg.crane_id}' for vehicle '{msg.vehicle_id}'")
            return
        with self._lock:
            was = self._crane_holds.get(msg.crane_id, False)
            self._crane_holds[msg.crane_id] = bool(msg.engaged)
        if msg.engaged != was:
            self.get_logger().info(f"crane {msg.crane_id} {'engaged: holding' if msg.engaged else 'released'}")

    def _held_by(self):
        """The cranes engaged over this vehicle, comma-separated ('' when none; call with the lock held)."""
        return ','.join(sorted(c for c, engaged in self._crane_holds.items() if engaged))

    def _on_zone_limit(self, msg):
        if msg.zone_id not in self._zones:
            self.get_logger().warning(f"ignored a speed limit for unknown zone '{msg.zone_id}'")
            return
        if not msg.clear and not (math.isfinite(msg.max_speed_mps) and msg.max_speed_mps >= 0.0):
            self.get_logger().warning(f"ignored speed limit {msg.max_speed_mps} for zone '{msg.zone_id}'")
            return
        with self._lock:
            if msg.clear:
                self._zone_limits.pop(msg.zone_id, None)
            else:
                self._zone_limits[msg.zone_id] = msg.max_speed_mps
        self.get_logger().info(f"zone '{msg.zone_id}': " + ('limit lifted' if msg.clear else
                                                          f'limited to {msg.max_speed_mps * 3.6:.1f} km/h'))

    def _safety(self, now_s, pose) -> SafetyDecision:
        """The safety monitor's decision from the newest inputs (call with the lock held)."""
        speed = pose[4] if pose is not None else 0.0
        zone_limit = math.inf
        if pose is not None:
            for zone_id, limit in self._zone_limits.items():
                if limit < zone_limit and shapely.contains_xy(self._zones[zone_id], pose[1], pose[2]):
                    zone_limit = limit
        range_m, closing, range_t = self._range
        if now_s - range_t > 1.0:                     # a silent sensor sees nothing: say so, do not guess
            range_m, closing = math.inf, 0.0
        heartbeat_age = now_s - self._heartbeat_s if self.require_heartbeat else 0.0
        status = self._loc_status
        protection_level = status.protection_level_m if status is not None else math.inf
        decision = self.monitor.assess(SafetyInputs(speed, heartbeat_age, any(self._estop.values()),
                                                    range_m, closing, math.inf, zone_limit, protection_level))
        held = self._held_by()
        if held and not decision.emergency:          # a crane over the vehicle: hold, service brakes
            return SafetyDecision(0.0, False, f'holding: crane {held} engaged over the vehicle')
        return decision

    def _now_s(self):
        return self.get_clock().now().nanoseconds * 1e-9

    def _pose_problem(self, now_s):
        """Why the pose must not be used to drive, or '' when it may."""
        if self._pose is None:
            return 'no pose from localization yet'
        if now_s - self._pose[0] > self.pose_timeout_s:
            return f'pose is {now_s - self._pose[0]:.2f} s old (limit {self.pose_timeout_s} s)'
        status = self._loc_status
        if status is not None and status.mode == LocalizationStatus.MODE_LOST:
            return 'localization reports LOST'
        return ''

    # ---- control loop -------------------------------------------------------------------
    def _control(self):
        now_s = self._now_s()
        with self._lock:
            active, pose = self._active, self._pose
            problem = self._pose_problem(now_s)
            decision = self._safety(now_s, pose)
            # held between goals; braking hard while a safety stop is on or was on and we still move
            cmd = DriveCommand(speed_mps=0.0, steering_angle_rad=0.0, max_decel_mps2=self.stop_decel_mps2,
                               emergency_stop=decision.emergency)
            mode = VehicleState.MODE_EMERGENCY_STOP if decision.emergency else VehicleState.MODE_IDLE
            if active is not None and active.running:
                mode = self._drive(active, pose, problem, decision, now_s, cmd)
        cmd.header.stamp = self.get_clock().now().to_msg()
        self.pub_cmd.publish(cmd)
        self._last_steer_rad = cmd.steering_angle_rad
        if active is not None and active.progress is not None:
            self.pub_progress.publish(active.progress)
            if active.running and now_s - active.last_feedback_s >= self.feedback_period_s:
                active.handle.publish_feedback(FollowRoute.Feedback(progress=active.progress))
                active.last_feedback_s = now_s
        self._ticks += 1
        if self._ticks % max(1, self.state_every) == 0:
            self._publish_state(pose, active, mode, problem or decision.reason)

    def _drive(self, active, pose, problem, decision, now_s, cmd):
        """One control step of the running goal: fill `cmd`, end the goal when it is over; return the mode."""
        if active.handle.is_cancel_requested:
            active.end(Result.CANCELED, 'canceled')
            return VehicleState.MODE_SAFE_STOP
        if problem:
            active.end(Result.LOCALIZATION_LOST, f'stopped: {problem}')
            return VehicleState.MODE_SAFE_STOP
        out = active.tracker.step(pose[1], pose[2], pose[3], pose[4], self.dt_s, decision)
        cmd.speed_mps, cmd.steering_angle_rad = out.command.speed_mps, out.command.steer_rad
        cmd.max_decel_mps2, cmd.emergency_stop = 0.0, out.command.emergency_stop
        active.progress = self._progress(active, out, pose[4], now_s)
        active.progress.safety_reason = decision.reason
        if out.state == STATE_SAFETY_STOP:
            active.end(Result.SAFETY_STOP, f'safety stop: {decision.reason}')
            return VehicleState.MODE_EMERGENCY_STOP
        if out.state == STATE_OFF_ROUTE:
            active.end(Result.SAFETY_STOP, f'off the route: cross-track error {out.cross_track_m:.2f} m '
                                           f'exceeds {self.params.max_cross_track_m} m')
            return VehicleState.MODE_EMERGENCY_STOP
        if out.state == STATE_STOPPED and abs(pose[4]) < 0.01:
            active.end(Result.NONE)
        elif now_s - active.start_s > self.goal_timeout_s:
            active.end(Result.TIMEOUT, f'goal ran longer than {self.goal_timeout_s} s')
        return {STATE_DOCKING: VehicleState.MODE_DOCKING,
                STATE_STOPPED: VehicleState.MODE_STOPPED}.get(out.state, VehicleState.MODE_DRIVING)

    def _progress(self, active, out, speed, now_s):
        msg = RouteProgress(vehicle_id=self.vehicle_id, route_id=active.route.route_id,
                            distance_travelled_m=out.s_m, distance_remaining_m=max(out.remaining_m, 0.0),
                            cross_track_error_m=out.cross_track_m, heading_error_rad=out.heading_error_rad,
                            speed_mps=speed, target_speed_mps=out.target_speed_mps)
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.eta = to_duration(active.tracker.eta_s(out.s_m))
        return msg

    def _publish_state(self, pose, active, mode, problem):
        with self._lock:
            held = self._held_by()
        msg = VehicleState(vehicle_id=self.vehicle_id, mode=mode, safety_reason=problem, held_by_crane=held)
        msg.header.stamp, msg.header.frame_id = self.get_clock().now().to_msg(), 'map'
        if pose is not None:
            msg.pose.position.x, msg.pose.position.y = pose[1], pose[2]
            msg.pose.orientation = yaw_to_quaternion(pose[3])
            msg.speed_mps = pose[4]
        if active is not None and active.progress is not None:
            msg.route_id = active.route.route_id
            msg.route_progress = active.progress.distance_travelled_m / max(active.route.length_m, 1e-6)
        self.pub_state.publish(msg)

    # ---- the action ---------------------------------------------------------------------
    def _on_accepted(self, goal_handle):
        with self._lock:
            if self._active is not None:
                self._active.end(Result.PREEMPTED, 'preempted by a newer goal')
        goal_handle.execute()

    def _resolve(self, goal) -> Route:
        """The route a goal asks for; raises UnknownRouteError or PathError."""
        if goal.route_id:
            return self.lane_map.route(goal.route_id)
        if goal.path.header.frame_id not in ('', 'map'):
            raise PathError(f"path is in frame '{goal.path.header.frame_id}', expected 'map'")
        if not goal.path.poses:
            raise PathError('goal gives neither a route_id nor a path (empty path)')
        pts = self.lane_map.check_path([(p.pose.position.x, p.pose.position.y) for p in goal.path.poses],
                                       'goal path')
        limits = self.lane_map.speed_limit_at(pts, self.params.max_speed_mps)
        return Route.from_polyline('explicit_path', pts, limits)

    async def _execute(self, goal_handle):
        """Check the goal, hand it to the control loop, and wait (without blocking) for its end."""
        goal = goal_handle.request
        try:
            route = self._resolve(goal)
        except UnknownRouteError as exc:
            return self._finish(goal_handle, None, Result.UNKNOWN_ROUTE, str(exc))
        except PathError as exc:
            return self._finish(goal_handle, None, Result.INVALID_PATH, str(exc))
        if not (math.isfinite(goal.payload_kg) and 0.0 <= goal.payload_kg <= 80000.0):
            return self._finish(goal_handle, None, Result.INVALID_PATH,
                                f'payload_kg {goal.payload_kg} is not a payload (0..80000 kg)')
        payload = goal.payload_kg if goal.payload_kg > 0.0 else self.payload_kg
        tracker = RouteTracker(self.params)
        tracker.set_route(route, goal.precise_stop, payload)
        active = ActiveGoal(goal_handle, route, tracker, self._now_s(), Future())
        with self._lock:
            problem = self._pose_problem(active.start_s)
            decision = self._safety(active.start_s, self._pose)
            held = self._held_by()
            if held:
                return self._finish(goal_handle, None, Result.CRANE_ENGAGED,
                                    f'cannot start: crane {held} is engaged over the vehicle')
            if decision.emergency:
                return self._finish(goal_handle, None, Result.SAFETY_STOP, f'cannot start: {decision.reason}')
            if problem:
                return self._finish(goal_handle, None, Result.LOCALIZATION_LOST, f'cannot start: {problem}')
            start = route.project(self._pose[1], self._pose[2])
            if abs(start.lateral_m) > self.params.max_cross_track_m or start.s_m >= route.length_m - 0.05:
                return self._finish(goal_handle, None, Result.INVALID_PATH,
                                    f'vehicle is not on route {route.route_id}: {abs(start.lateral_m):.2f} m '
                                    f'off the path at {start.s_m:.1f} of {route.length_m:.1f} m')
            self._active = active
        self.pub_route.publish(self._route_msg(route))
        self.get_logger().info(f'following {route.route_id} ({route.length_m:.0f} m)')
        code, message = await active.done
        return self._finish(goal_handle, active, code, message)

    def _finish(self, goal_handle, active, code, message):
        result = Result(error_code=code, error_msg=message)
        with self._lock:
            if active is not None:
                if self._active is active:
                    self._active = None
                if self._pose is not None:
                    x_end, y_end = active.route.xy[-1]
                    result.stop_error_m = math.hypot(self._pose[1] - x_end, self._pose[2] - y_end)
                    result.stop_heading_error_rad = math.remainder(self._pose[3] - active.route.heading[-1],
                                                                   2.0 * math.pi)
                if active.progress is not None:
                    result.distance_travelled_m = active.progress.distance_travelled_m
                result.total_time = to_duration(self._now_s() - active.start_s)
        if code == Result.NONE:
            goal_handle.succeed()
            self.get_logger().info(f'{active.route.route_id}: stopped {result.stop_error_m * 100:.1f} cm '
                                   'from the stop point (estimated)')
        elif code == Result.CANCELED:
            goal_handle.canceled()
        else:
            goal_handle.abort()
            self.get_logger().warning(f'goal ended: {message}')
        return result

    def _route_msg(self, route: Route) -> RouteMsg:
        msg = RouteMsg(route_id=route.route_id, node_ids=route.node_ids, stop_node_id=route.stop_node_id,
                       length_m=route.length_m)
        msg.header.stamp, msg.header.frame_id = self.get_clock().now().to_msg(), 'map'
        msg.path.header = msg.header
        step = max(1, int(1.0 / (route.s[1] - route.s[0])))          # one pose per metre
        idx = list(range(0, len(route.s), step)) + [len(route.s) - 1]
        for i in idx:
            pose = PoseStamped(header=msg.header)
            pose.pose.position.x, pose.pose.position.y = float(route.xy[i, 0]), float(route.xy[i, 1])
            pose.pose.orientation = yaw_to_quaternion(float(route.heading[i]))
            msg.path.poses.append(pose)
        msg.speed_limit_mps = [float(route.speed_limit_mps[i]) for i in idx]
        return msg

    def _get_route(self, request, response):
        try:
            response.route = self._route_msg(self.lane_map.route(request.route_id))
            response.success = True
        except UnknownRouteError as exc:
            response.success, response.message = False, str(exc)
        return response


def main(args=None):
    run(RouteFollowerNode, args)
