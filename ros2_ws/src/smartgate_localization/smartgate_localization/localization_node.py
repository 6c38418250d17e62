"""Localization node: GNSS (fix and dual-antenna heading), 5G NR positioning (network fixes and
time-of-arrival ranges), wheel odometry and IMU in; the vehicle's pose in the map frame out.

Thin by design: messages are checked and converted here, everything else is the core's Localizer
(the same object the fleet-scale simulator and the benchmark feed). Publishes
`localization/odometry` (map -> base_link, REP 105) at `publish_rate_hz` on simulated time,
`localization/status` (mode, protection level, per-sensor counters) and /diagnostics; serves
`from_ll` / `to_ll` between WGS 84 and the map frame.
A rejected measurement is counted and logged (throttled) with the reason.
"""
from __future__ import annotations

import math
import threading

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import Imu, NavSatFix, NavSatStatus

from smartgate_common import qos
from smartgate_common.convert import all_finite, diagnostic, quaternion_to_yaw, to_seconds, yaw_to_quaternion
from smartgate_common.node_main import run
from smartgate_common.parameters import ConfigError, declare, declare_dataclass
from smartgate_core.localization.estimator import EstimatorParams
from smartgate_core.lane_map import MapError, load_map
from smartgate_core.localization.localizer import (MODE_DEAD_RECKONING, MODE_INITIALIZING, MODE_LOST, MODE_RADIO_AIDED,
                                      Localizer, LocalizerParams)
from smartgate_core.localization.estimator import FIX_NONE, FIX_RTK_FIXED, FIX_RTK_FLOAT, FIX_SINGLE
from smartgate_interfaces.msg import LocalizationStatus, RadioRanges
from smartgate_interfaces.srv import FromLL, ToLL

FIX_TYPES = {NavSatStatus.STATUS_GBAS_FIX: FIX_RTK_FIXED, NavSatStatus.STATUS_SBAS_FIX: FIX_RTK_FLOAT,
             NavSatStatus.STATUS_FIX: FIX_SINGLE, NavSatStatus.STATUS_NO_FIX: FIX_NONE}


class LocalizationNode(Node):
    def __init__(self):
        super().__init__('localization')
        map_file = declare(self, 'map_file', description='lane map GeoJSON whose datum defines the map frame',
                           required_type=str)
        sites_file = declare(self, 'gnb_sites_file', description='5G gNB sites (YAML, WGS 84) per map',
                             required_type=str)
        rate = declare(self, 'publish_rate_hz', 50.0, 'rate of localization/odometry [Hz, sim time]')
        self.status_every = declare(self, 'status_every_n', 5,
                                    'publish localization/status with every n-th pose (10 Hz at 50 Hz)')
        if not 1.0 <= rate <= 500.0:
            raise ConfigError(f'publish_rate_hz must be within [1, 500], got {rate}')
        try:
            lane_map = load_map(map_file)
            sites = lane_map.gnb_sites(sites_file)
        except MapError as exc:
            raise ConfigError(str(exc)) from None
        self.datum = lane_map.datum
        self.loc = Localizer(declare_dataclass(self, 'localizer', LocalizerParams),
                             declare_dataclass(self, 'estimator', EstimatorParams), sites)
        self._lock = threading.Lock()
        self._published = 0
        self._last_status = None
        self._initialized_logged = False

        self.pub_odom = self.create_publisher(Odometry, 'localization/odometry', qos.SENSOR)
        self.pub_status = self.create_publisher(LocalizationStatus, 'localization/status', qos.STATUS)
        self.pub_diag = self.create_publisher(DiagnosticArray, '/diagnostics', qos.STATUS)
        self.create_subscription(NavSatFix, 'gnss/fix', self._on_gnss, qos.SENSOR)
        self.create_subscription(Imu, 'gnss/heading', self._on_heading, qos.SENSOR)
        self.create_subscription(NavSatFix, 'fiveg/fix', self._on_fiveg_fix, qos.SENSOR)
        self.create_subscription(RadioRanges, 'fiveg/ranges', self._on_fiveg_ranges, qos.SENSOR)
        self.create_subscription(Odometry, 'odom/wheel', self._on_odometry, qos.SENSOR)
        self.create_subscription(Imu, 'imu/data', self._on_imu, qos.SENSOR)
        self.create_service(FromLL, 'from_ll', self._from_ll)
        self.create_service(ToLL, 'to_ll', self._to_ll)
        self.create_timer(1.0 / rate, self._publish)
        self.create_timer(1.0, self._publish_diagnostics)
        self.get_logger().info(f'{len(sites)} gNB sites for {lane_map.source.name}')

    # ---- inputs: convert, hand to the core, log why when it refuses ----------------------
    def _apply(self, call, *args):
        with self._lock:
            before = sum(self.loc.rejected.values()) + sum(self.loc.estimator.counters.rejected.values())
            call(*args)
            after = sum(self.loc.rejected.values()) + sum(self.loc.estimator.counters.rejected.values())
            problem = self.loc.last_problem
        if after > before:
            self.get_logger().warning(problem, throttle_duration_sec=2.0)

    def _on_imu(self, msg):
        q = msg.orientation
        yaw = quaternion_to_yaw(q) if all_finite(q.x, q.y, q.z, q.w) else math.nan
        self._apply(self.loc.imu, to_seconds(msg.header.stamp), msg.angular_velocity.z, yaw)

    def _on_odometry(self, msg):
        self._apply(self.loc.odometry, to_seconds(msg.header.stamp), msg.twist.twist.linear.x)

    def _map_fix(self, msg):
        """(map xy, 2x2 covariance) of a NavSatFix, NaN when unusable (the core says why)."""
        if not all_finite(msg.latitude, msg.longitude, msg.altitude) or \
                msg.position_covariance_type == NavSatFix.COVARIANCE_TYPE_UNKNOWN:
            return (math.nan, math.nan), np.full((2, 2), math.nan)
        x, y, _ = self.datum.to_map(msg.latitude, msg.longitude, msg.altitude)
        return (float(x), float(y)), np.asarray(msg.position_covariance, dtype=float).reshape(3, 3)[:2, :2]

    def _on_gnss(self, msg):
        fix_type = FIX_TYPES.get(msg.status.status, f'unknown status {msg.status.status}')
        xy, cov = self._map_fix(msg) if fix_type != FIX_NONE else ((math.nan, math.nan), np.eye(2))
        self._apply(self.loc.gnss, to_seconds(msg.header.stamp), fix_type, xy, cov)

    def _on_heading(self, msg):
        q = msg.orientation
        yaw = quaternion_to_yaw(q) if all_finite(q.x, q.y, q.z, q.w) else math.nan
        self._apply(self.loc.gnss_heading, to_seconds(msg.header.stamp), yaw, msg.orientation_covariance[8])

    def _on_fiveg_fix(self, msg):
        xy, cov = self._map_fix(msg)
        self._apply(self.loc.fiveg_fix, to_seconds(msg.header.stamp), xy, cov)

    def _on_fiveg_ranges(self, msg):
        if len(msg.gnb_ids) != len(msg.ranges_m):
            with self._lock:
                self.loc.reject('fiveg_range', f'{len(msg.gnb_ids)} ids but {len(msg.ranges_m)} ranges')
            self.get_logger().warning(self.loc.last_problem, throttle_duration_sec=2.0)
            return
        self._apply(self.loc.fiveg_ranges, to_seconds(msg.header.stamp), list(msg.gnb_ids),
                    list(msg.ranges_m), msg.sigma_m)

    # ---- outputs ------------------------------------------------------------------------
    def _publish(self):
        now = self.get_clock().now()
        with self._lock:
            est = self.loc.estimator
            mode = self.loc.mode()
            if mode == MODE_INITIALIZING:
                status = LocalizationStatus(mode=mode)
                status.header.stamp = now.to_msg()
                self.pub_status.publish(status)
                return
            x, y, yaw = est.pose_at(now.nanoseconds * 1e-9, self.loc.speed_mps, self.loc.yaw_rate_radps)
            P = est.P.copy()
            speed, yaw_rate = self.loc.speed_mps * est.x[4], self.loc.yaw_rate_radps - est.x[3]
            pl = est.protection_level_m
            counters = self.loc.counters()
        if not self._initialized_logged:
            self._initialized_logged = True
            self.get_logger().info(f'initialized: base_link at ({x:.2f}, {y:.2f}) m, yaw {math.degrees(yaw):.1f} deg')
        odom = Odometry()
        odom.header.stamp, odom.header.frame_id, odom.child_frame_id = now.to_msg(), 'map', 'base_link'
        odom.pose.pose.position.x, odom.pose.pose.position.y = x, y
        odom.pose.pose.orientation = yaw_to_quaternion(yaw)
        cov = [0.0] * 36
        for (i, j), k in {(0, 0): 0, (0, 1): 1, (1, 0): 6, (1, 1): 7, (0, 2): 5, (2, 0): 30, (1, 2): 11,
                          (2, 1): 31, (2, 2): 35}.items():
            cov[k] = float(P[i, j])
        cov[14] = cov[21] = cov[28] = 1e6                 # z, roll, pitch: not estimated
        odom.pose.covariance = cov
        odom.twist.twist.linear.x, odom.twist.twist.angular.z = speed, yaw_rate
        self.pub_odom.publish(odom)
        self._published += 1
        if self._published % max(1, self.status_every):
            return
        status = LocalizationStatus(mode=mode, protection_level_m=pl,
                                    position_std_m=math.sqrt(max(P[0, 0] + P[1, 1], 0.0)),
                                    heading_std_rad=math.sqrt(max(P[2, 2], 0.0)))
        status.header.stamp = now.to_msg()
        status.sensors = list(counters)
        status.measurements_used = [used for used, _ in counters.values()]
        status.measurements_rejected = [rejected for _, rejected in counters.values()]
        self.pub_status.publish(status)
        self._last_status = status

    def _publish_diagnostics(self):
        status = self._last_status
        if status is None:
            level, message, values = DiagnosticStatus.WARN, 'waiting for a first GNSS fix and IMU sample', {}
        else:
            level = {MODE_LOST: DiagnosticStatus.ERROR, MODE_DEAD_RECKONING: DiagnosticStatus.WARN,
                     MODE_RADIO_AIDED: DiagnosticStatus.WARN}.get(status.mode, DiagnosticStatus.OK)
            message = f'mode {status.mode}, protection level {status.protection_level_m:.3f} m'
            values = {'position_std_m': f'{status.position_std_m:.4f}',
                      **{f'{s}_used': u for s, u in zip(status.sensors, status.measurements_used)},
                      **{f'{s}_rejected': r for s, r in zip(status.sensors, status.measurements_rejected)}}
        array = DiagnosticArray(status=[diagnostic(f'{self.get_name()}: pose', self.get_namespace(), level,
                                                   message, values)])
        array.header.stamp = self.get_clock().now().to_msg()
        self.pub_diag.publish(array)

    # ---- services -----------------------------------------------------------------------
    def _from_ll(self, request, response):
        if not all_finite(request.latitude_deg, request.longitude_deg, request.altitude_m) or \
                abs(request.latitude_deg) > 90.0 or abs(request.longitude_deg) > 180.0:
            response.success, response.message = False, 'latitude/longitude out of range or not finite'
            return response
        x, y, z = self.datum.to_map(request.latitude_deg, request.longitude_deg, request.altitude_m)
        response.map_point.x, response.map_point.y, response.map_point.z = float(x), float(y), float(z)
        response.success = True
        return response

    def _to_ll(self, request, response):
        p = request.map_point
        if not all_finite(p.x, p.y, p.z):
            response.success, response.message = False, 'map point not finite'
            return response
        lat, lon, h = self.datum.to_geographic(p.x, p.y, p.z)
        response.latitude_deg, response.longitude_deg, response.altitude_m = float(lat), float(lon), float(h)
        response.success = True
        return response


def main(args=None):
    run(LocalizationNode, args)
