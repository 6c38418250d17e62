"""Simulator node: one driverless container vehicle on the lane map, the clock source of the run.

A physics thread steps the core's VehicleSimulator at a fixed rate, paced to `real_time_factor`
times wall time, and publishes /clock, GNSS (fix and dual-antenna heading), wheel odometry, IMU
and ground truth stamped with simulated time. Commands arrive on `cmd_drive`; a command that is not finite is dropped and
counted, and without a valid command for `command_timeout_s` the vehicle brakes to a stop.

Soft lockstep: on a busy machine (two cores, several Python processes) a node can fall behind the
simulated clock, which a real vehicle computer running in real time would not. So the physics
loop does not run more than one period plus `lockstep_lead_s` of simulated time ahead of the newest
drive command, localization pose and fleet heartbeat (each at its own rate), waiting for them at
most `lockstep_wait_s` of wall time; a node silent for longer is not waited for, so a dead node
still ends in the command-timeout stop.
"""
from __future__ import annotations

import math
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import PoseArray, Vector3
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Imu, NavSatFix, NavSatStatus, Range
from std_msgs.msg import Header
from visualization_msgs.msg import Marker, MarkerArray

from smartgate_common import qos
from smartgate_common.node_main import run
from smartgate_common.convert import all_finite, diagnostic, to_seconds, to_time, yaw_to_quaternion
from smartgate_common.parameters import ConfigError, declare, declare_dataclass
from smartgate_core.lane_map import MapError, load_map
from smartgate_core.localization.estimator import FIX_RTK_FIXED, FIX_RTK_FLOAT, FIX_SINGLE
from smartgate_core.simulation.sensors import FiveGParams, GnssEnvironment, GnssParams, ImuParams, OdometryParams, \
    RangeParams
from smartgate_core.simulation.disturbances import DisturbanceParams
from smartgate_core.simulation.vehicle import SimRates, VehicleSimulator
from smartgate_core.driving.command import DriveCommand
from smartgate_core.simulation.vehicle_model import VehicleParams, VehicleState
from smartgate_interfaces.msg import DriveCommand as DriveCommandMsg
from smartgate_interfaces.msg import RadioRanges

ANTENNA_HEIGHT_M = 4.5   # GNSS antenna above the ground (urdf gnss_joint) [m]
NAVSAT_STATUS = {FIX_RTK_FIXED: NavSatStatus.STATUS_GBAS_FIX, FIX_RTK_FLOAT: NavSatStatus.STATUS_SBAS_FIX,
                 FIX_SINGLE: NavSatStatus.STATUS_FIX}       # the convention localization reads back
MAX_CATCH_UP_S = 0.02   # wall time the physics loop may run behind schedule before it re-bases [s]


class VehicleSimNode(Node):
    def __init__(self):
        super().__init__('vehicle_sim')
        map_file = declare(self, 'map_file', description='lane map GeoJSON (WGS 84)', required_type=str)
        start_node = declare(self, 'start_node_id', description='route node the vehicle starts on',
                             required_type=str)
        self.vehicle_id = declare(self, 'vehicle_id', description='id of the simulated vehicle',
                                  required_type=str)
        seed = declare(self, 'seed', 1, 'seed of every random source of the simulation')
        payload = declare(self, 'payload_kg', 0.0, 'container mass on the vehicle [kg]')
        self.rtf = declare(self, 'real_time_factor', 1.0, 'simulated seconds per wall second')
        self.command_timeout_s = declare(self, 'command_timeout_s', 0.5,
                                         'brake to a stop after this long without a valid command [s, sim]')
        self.lockstep_lead_s = declare(self, 'lockstep_lead_s', 0.1,
                                       'run at most a period plus this far ahead of the newest command, pose '
                                       'and heartbeat [s, sim]; 0 disables the lockstep')
        self.lockstep_wait_s = declare(self, 'lockstep_wait_s', 1.0,
                                       'wait at most this long for a lagging node [s, wall]')
        vehicle = declare_dataclass(self, 'vehicle', VehicleParams)
        rates = declare_dataclass(self, 'rates', SimRates)
        gnss = declare_dataclass(self, 'gnss', GnssParams)
        odom = declare_dataclass(self, 'odometry', OdometryParams)
        imu = declare_dataclass(self, 'imu', ImuParams)
        self.range_params = declare_dataclass(self, 'range', RangeParams)
        fiveg = declare_dataclass(self, 'fiveg', FiveGParams)
        disturbances = declare_dataclass(self, 'disturbances', DisturbanceParams)
        sites_file = declare(self, 'gnb_sites_file', description='5G gNB sites (YAML, WGS 84) per map',
                             required_type=str)
        self.obstacle_radius_m = declare(self, 'obstacle_radius_m', 1.0,
                                         'radius of the obstacles placed on /sim/obstacles [m]')
        if not 0.05 <= self.rtf <= 20.0:
            raise ConfigError(f'real_time_factor must be within [0.05, 20], got {self.rtf}')
        if not 0.0 <= payload <= 80000.0:
            raise ConfigError(f'payload_kg must be within [0, 80000], got {payload}')
        try:
            lane_map = load_map(map_file)
            sites = lane_map.gnb_sites(sites_file)
        except MapError as exc:
            raise ConfigError(str(exc)) from None
        node = lane_map.features.get(start_node)
        if node is None or node.kind != 'route_node':
            raise ConfigError(f"start_node_id '{start_node}' is not a route_node of {map_file}")
        self.datum = lane_map.datum
        heading = self._start_heading(lane_map, start_node)
        start = VehicleState(node.geometry.x, node.geometry.y, heading)
        self.sim = VehicleSimulator(vehicle, start, seed, payload, rates, gnss, odom, imu, self.range_params,
                                    fiveg, sites, GnssEnvironment.of_map(lane_map), disturbance_params=disturbances)

        self.pub_clock = self.create_publisher(Clock, '/clock', qos.CLOCK)
        self.pub_gnss = self.create_publisher(NavSatFix, 'gnss/fix', qos.SENSOR)
        self.pub_heading = self.create_publisher(Imu, 'gnss/heading', qos.SENSOR)
        self.pub_odom = self.create_publisher(Odometry, 'odom/wheel', qos.SENSOR)
        self.pub_imu = self.create_publisher(Imu, 'imu/data', qos.SENSOR)
        self.pub_truth = self.create_publisher(Odometry, 'ground_truth/odom', qos.SENSOR)
        self.pub_range = self.create_publisher(Range, 'range/front', qos.SENSOR)
        self.pub_fiveg_fix = self.create_publisher(NavSatFix, 'fiveg/fix', qos.SENSOR)
        self.pub_fiveg_ranges = self.create_publisher(RadioRanges, 'fiveg/ranges', qos.SENSOR)
        self.pub_markers = self.create_publisher(MarkerArray, 'vehicle/markers', qos.STATUS)
        self.pub_diag = self.create_publisher(DiagnosticArray, '/diagnostics', qos.STATUS)
        self.create_subscription(DriveCommandMsg, 'cmd_drive', self._on_command, qos.COMMAND)
        self.create_subscription(PoseArray, '/sim/obstacles', self._on_obstacles, qos.LATCHED)
        self.create_subscription(Odometry, 'localization/odometry', lambda m: self._heard('pose', m.header.stamp),
                                 qos.LATEST)
        self.create_subscription(Header, '/fleet/heartbeat', lambda m: self._heard('heartbeat', m.stamp), qos.LATEST)

        self._lock = threading.Lock()
        self._command = DriveCommand()
        self._command_time_s = -math.inf
        self._rejected_commands = 0
        self._followers = {}       # 'command'/'pose'/'heartbeat' -> (newest stamp, its period [s, sim], received [s, wall])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._physics_loop, name='physics', daemon=True)
        self._thread.start()
        self.get_logger().info(
            f"simulating {self.vehicle_id} from '{start_node}' ({start.x_m:.1f}, {start.y_m:.1f}) m, "
            f'payload {payload:.0f} kg, seed {seed}, real-time factor {self.rtf}')

    @staticmethod
    def _start_heading(lane_map, node_id):
        """Heading of the first route edge leaving the start node (vehicles park facing their way out)."""
        for edge in lane_map.of_kind('route_edge'):
            if edge.properties['from'] == node_id:
                (x0, y0), (x1, y1) = edge.geometry.coords[0], edge.geometry.coords[1]
                return math.atan2(y1 - y0, x1 - x0)
        raise ConfigError(f"start node '{node_id}' has no route_edge leaving it")

    def _on_command(self, msg):
        if not all_finite(msg.speed_mps, msg.steering_angle_rad, msg.max_decel_mps2) or msg.speed_mps < 0.0:
            self._rejected_commands += 1
            self.get_logger().warning(f'dropped an invalid drive command (speed {msg.speed_mps}, steering '
                                      f'{msg.steering_angle_rad}, max_decel {msg.max_decel_mps2})',
                                      throttle_duration_sec=2.0)
            return
        with self._lock:
            self._command = DriveCommand(msg.speed_mps, msg.steering_angle_rad, msg.max_decel_mps2,
                                         msg.emergency_stop)
            self._command_time_s = self.sim.t_s
        self._heard('command', msg.header.stamp)

    def _heard(self, source, stamp):
        t = to_seconds(stamp)
        with self._lock:
            last, period, _ = self._followers.get(source, (t, 0.0, 0.0))
            self._followers[source] = (t, t - last if t > last else period, time.monotonic())

    def _wait_for_followers(self):
        """Soft lockstep: hold the clock while a live command or pose source lags behind it."""
        if self.lockstep_lead_s <= 0.0:
            return
        deadline = time.monotonic() + self.lockstep_wait_s
        while not self._stop.is_set():
            now = time.monotonic()
            with self._lock:
                lagging = [stamp for stamp, period, seen in self._followers.values()
                           if now - seen < self.lockstep_wait_s and self.sim.t_s - stamp > period + self.lockstep_lead_s]
            if not lagging or now > deadline:
                return
            time.sleep(0.001)

    def _on_obstacles(self, msg):
        """Obstacles (test objects, stalled trucks) for the range sensor, in the map frame."""
        points = [(p.position.x, p.position.y) for p in msg.poses]
        if msg.header.frame_id not in ('', 'map') or not all(all_finite(x, y) for x, y in points):
            self.get_logger().warning('ignored /sim/obstacles: frame must be map and positions finite')
            return
        with self._lock:
            self.sim.obstacles = [(x, y, self.obstacle_radius_m) for x, y in points]
        self.get_logger().info(f'{len(points)} obstacle(s) placed')

    def _physics_loop(self):
        dt = self.sim.dt_s
        wall_start = time.monotonic()
        while not self._stop.is_set():
            self._wait_for_followers()
            with self._lock:
                stale = self.sim.t_s - self._command_time_s > self.command_timeout_s
                command = DriveCommand() if stale else self._command
            out = self.sim.step(command)
            self._publish(out, stale)
            ahead = wall_start + self.sim.step_count * dt / self.rtf - time.monotonic()
            if ahead > 0.0:
                time.sleep(ahead)
            elif ahead < -MAX_CATCH_UP_S:       # fell behind (CPU busy): slow down, never burst
                wall_start -= ahead + MAX_CATCH_UP_S

    def _publish(self, out, stale):
        stamp = to_time(out.t_s)
        if out.clock_due:
            self.pub_clock.publish(Clock(clock=stamp))
        truth = out.truth
        if out.gnss is not None:
            self._publish_gnss(out.gnss, stamp)
        if out.fiveg_fix is not None:
            self.pub_fiveg_fix.publish(self._navsat(out.fiveg_fix.x_m, out.fiveg_fix.y_m, out.fiveg_fix.sigma_m,
                                                    NavSatStatus.STATUS_FIX, stamp, 'fiveg_link',
                                                    self.sim.fiveg_params.antenna_height_m))
        if out.fiveg_ranges is not None:
            r = out.fiveg_ranges
            msg = RadioRanges(gnb_ids=list(r.site_ids), ranges_m=[float(v) for v in r.ranges_m], sigma_m=r.sigma_m)
            msg.header.stamp, msg.header.frame_id = stamp, 'fiveg_link'
            self.pub_fiveg_ranges.publish(msg)
        if out.odometry_speed_mps is not None:
            odom = Odometry()
            odom.header.stamp, odom.header.frame_id, odom.child_frame_id = stamp, 'odom', 'base_link'
            odom.twist.twist.linear.x = float(out.odometry_speed_mps)
            odom.twist.covariance[0] = self.sim.odometry_params.speed_sigma_mps ** 2
            self.pub_odom.publish(odom)
        if out.imu is not None:
            imu = Imu()
            imu.header.stamp, imu.header.frame_id = stamp, 'imu_link'
            imu.orientation = yaw_to_quaternion(out.imu.yaw_rad)
            yaw_var = self.sim.imu_params.yaw_sigma_rad ** 2 + self.sim.imu_params.yaw_bias_sigma_rad ** 2
            imu.orientation_covariance = [1e-4, 0.0, 0.0, 0.0, 1e-4, 0.0, 0.0, 0.0, yaw_var]
            imu.angular_velocity = Vector3(x=0.0, y=0.0, z=float(out.imu.yaw_rate_radps))
            gyro_var = self.sim.imu_params.gyro_noise_sigma_radps ** 2
            imu.angular_velocity_covariance = [gyro_var, 0.0, 0.0, 0.0, gyro_var, 0.0, 0.0, 0.0, gyro_var]
            imu.linear_acceleration = Vector3(x=float(out.imu.accel_x_mps2), y=0.0, z=9.80665)
            self.pub_imu.publish(imu)
        if out.range_m is not None:
            rng = Range(radiation_type=Range.INFRARED, field_of_view=0.1, min_range=0.0,
                        max_range=self.range_params.max_range_m, range=float(out.range_m))
            rng.header.stamp, rng.header.frame_id = stamp, 'range_front_link'
            self.pub_range.publish(rng)
        if out.ground_truth_due:
            self.pub_truth.publish(self._truth_msg(truth, stamp))
        every_s = round(self.sim.rates.physics_hz)          # once per simulated second
        if self.sim.step_count % every_s == 0:
            self.pub_markers.publish(self._markers(truth, stamp))
            self._publish_diagnostics(stamp, stale)

    def _navsat(self, x_m, y_m, sigma_m, status, stamp, frame, height_m):
        fix = NavSatFix()
        fix.header.stamp, fix.header.frame_id = stamp, frame
        fix.status.status, fix.status.service = status, NavSatStatus.SERVICE_GPS
        if status == NavSatStatus.STATUS_NO_FIX:
            fix.latitude = fix.longitude = fix.altitude = math.nan
            fix.position_covariance_type = NavSatFix.COVARIANCE_TYPE_UNKNOWN
            return fix
        lat, lon, h = self.datum.to_geographic(x_m, y_m, height_m)
        fix.latitude, fix.longitude, fix.altitude = float(lat), float(lon), float(h)
        var = sigma_m ** 2
        fix.position_covariance = [var, 0.0, 0.0, 0.0, var, 0.0, 0.0, 0.0, 4.0 * var]
        fix.position_covariance_type = NavSatFix.COVARIANCE_TYPE_DIAGONAL_KNOWN
        return fix

    def _publish_gnss(self, g, stamp):
        status = NAVSAT_STATUS.get(g.fix_type, NavSatStatus.STATUS_NO_FIX)
        self.pub_gnss.publish(self._navsat(g.x_m, g.y_m, g.sigma_m, status, stamp, 'gnss_link', ANTENNA_HEIGHT_M))
        if math.isfinite(g.heading_rad):
            # dual-antenna heading as orientation-only Imu (angular_velocity/linear_acceleration unknown: -1)
            heading = Imu()
            heading.header.stamp, heading.header.frame_id = stamp, 'gnss_link'
            heading.orientation = yaw_to_quaternion(g.heading_rad)
            heading.orientation_covariance = [1e6, 0.0, 0.0, 0.0, 1e6, 0.0, 0.0, 0.0, g.heading_sigma_rad ** 2]
            heading.angular_velocity_covariance[0] = heading.linear_acceleration_covariance[0] = -1.0
            self.pub_heading.publish(heading)

    def _truth_msg(self, truth: VehicleState, stamp):
        msg = Odometry()
        msg.header.stamp, msg.header.frame_id, msg.child_frame_id = stamp, 'map', 'base_link'
        msg.pose.pose.position.x, msg.pose.pose.position.y = truth.x_m, truth.y_m
        msg.pose.pose.orientation = yaw_to_quaternion(truth.yaw_rad)
        msg.twist.twist.linear.x = truth.speed_mps
        msg.twist.twist.angular.z = truth.yaw_rate_radps
        return msg

    def _markers(self, truth: VehicleState, stamp):
        p = self.sim.vehicle
        body = Marker(ns=self.vehicle_id, id=0, type=Marker.CUBE, action=Marker.ADD)
        body.header.stamp, body.header.frame_id = stamp, 'map'
        centre = p.length_m / 2.0 - p.rear_overhang_m        # ahead of base_link [m]
        body.pose.position.x = truth.x_m + centre * math.cos(truth.yaw_rad)
        body.pose.position.y = truth.y_m + centre * math.sin(truth.yaw_rad)
        body.pose.position.z = 1.0
        body.pose.orientation = yaw_to_quaternion(truth.yaw_rad)
        body.scale.x, body.scale.y, body.scale.z = p.length_m, p.width_m, 2.0
        body.color.r, body.color.g, body.color.b, body.color.a = 0.1, 0.5, 0.9, 0.9
        label = Marker(ns=self.vehicle_id, id=1, type=Marker.TEXT_VIEW_FACING, action=Marker.ADD,
                       text=f'{self.vehicle_id} {truth.speed_mps * 3.6:.0f} km/h')
        label.header = body.header
        label.pose.position.x, label.pose.position.y, label.pose.position.z = truth.x_m, truth.y_m, 5.0
        label.scale.z = 2.5
        label.color.r = label.color.g = label.color.b = label.color.a = 1.0
        return MarkerArray(markers=[body, label])

    def _publish_diagnostics(self, stamp, stale):
        level = DiagnosticStatus.WARN if stale and self.sim.t_s > 5.0 else DiagnosticStatus.OK
        message = 'no valid drive command: braking/holding' if stale else 'following commands'
        status = diagnostic(f'{self.get_name()}: vehicle', self.vehicle_id, level, message, {
            'sim_time_s': f'{self.sim.t_s:.2f}', 'speed_mps': f'{self.sim.model.state.speed_mps:.3f}',
            'rejected_commands': self._rejected_commands, 'real_time_factor': self.rtf})
        array = DiagnosticArray(status=[status])
        array.header.stamp = stamp
        self.pub_diag.publish(array)

    def destroy_node(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        super().destroy_node()


def main(args=None):
    run(VehicleSimNode, args)
