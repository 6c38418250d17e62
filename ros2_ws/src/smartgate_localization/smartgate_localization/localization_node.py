"""Localization node: GNSS (fix and dual-antenna heading), wheel odometry and IMU in, the
vehicle's pose in the map frame out.

Thin by design: messages are checked and converted here, all estimation is the core's
PoseEstimator. Publishes `localization/odometry` (map -> base_link, REP 105) at `publish_rate_hz`
on simulated time, `localization/status` (mode, protection level, per-sensor counters) and
/diagnostics; serves `from_ll` / `to_ll` between WGS 84 and the map frame.
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
from smartgate_core.estimator import EstimatorParams, PoseEstimator
from smartgate_core.lane_map import MapError, load_map
from smartgate_interfaces.msg import LocalizationStatus
from smartgate_interfaces.srv import FromLL, ToLL

FIX_MODES = {NavSatStatus.STATUS_GBAS_FIX: LocalizationStatus.MODE_RTK_FIXED,
             NavSatStatus.STATUS_SBAS_FIX: LocalizationStatus.MODE_RTK_FLOAT,
             NavSatStatus.STATUS_FIX: LocalizationStatus.MODE_GNSS_SINGLE}
# 2-D Gaussian: P(error > k * sigma_major) = exp(-k^2 / 2) = 1e-7
PROTECTION_SIGMAS = math.sqrt(-2.0 * math.log(1e-7))


class LocalizationNode(Node):
    def __init__(self):
        super().__init__('localization')
        map_file = declare(self, 'map_file', description='lane map GeoJSON whose datum defines the map frame',
                           required_type=str)
        rate = declare(self, 'publish_rate_hz', 50.0, 'rate of localization/odometry [Hz, sim time]')
        self.status_every = declare(self, 'status_every_n', 5,
                                    'publish localization/status with every n-th pose (10 Hz at 50 Hz)')
        self.gnss_timeout_s = declare(self, 'gnss_timeout_s', 1.0,
                                      'without a usable fix for this long the mode is dead reckoning [s]')
        self.lost_position_std_m = declare(self, 'lost_position_std_m', 0.5,
                                           'position 1-sigma beyond which the pose is LOST [m]')
        self.max_future_s = declare(self, 'max_future_stamp_s', 0.5,
                                    'measurements stamped further ahead of the clock are rejected [s]')
        self.estimator = PoseEstimator(declare_dataclass(self, 'estimator', EstimatorParams))
        if not 1.0 <= rate <= 500.0:
            raise ConfigError(f'publish_rate_hz must be within [1, 500], got {rate}')
        try:
            self.datum = load_map(map_file).datum
        except MapError as exc:
            raise ConfigError(str(exc)) from None

        self._lock = threading.Lock()
        self._speed = 0.0
        self._yaw_rate = 0.0
        self._ahrs_yaw = None
        self._last_fix_s = -math.inf
        self._fix_mode = LocalizationStatus.MODE_INITIALIZING
        self._rejected = {'gnss': 0, 'gnss_heading': 0, 'odometry': 0, 'imu': 0}
        self._last_status = None
        self._published = 0

        self.pub_odom = self.create_publisher(Odometry, 'localization/odometry', qos.SENSOR)
        self.pub_status = self.create_publisher(LocalizationStatus, 'localization/status', qos.STATUS)
        self.pub_diag = self.create_publisher(DiagnosticArray, '/diagnostics', qos.STATUS)
        self.create_subscription(NavSatFix, 'gnss/fix', self._on_gnss, qos.SENSOR)
        self.create_subscription(Imu, 'gnss/heading', self._on_heading, qos.SENSOR)
        self.create_subscription(Odometry, 'odom/wheel', self._on_odometry, qos.SENSOR)
        self.create_subscription(Imu, 'imu/data', self._on_imu, qos.SENSOR)
        self.create_service(FromLL, 'from_ll', self._from_ll)
        self.create_service(ToLL, 'to_ll', self._to_ll)
        self.create_timer(1.0 / rate, self._publish)
        self.create_timer(1.0, self._publish_diagnostics)

    # ---- inputs -------------------------------------------------------------------------
    def _reject(self, sensor, why):
        self._rejected[sensor] += 1
        self.get_logger().warning(f'rejected {sensor} measurement: {why}', throttle_duration_sec=2.0)

    def _stamp_ok(self, sensor, t_s):
        now = self.get_clock().now().nanoseconds * 1e-9
        if t_s > now + self.max_future_s:
            self._reject(sensor, f'stamp {t_s:.3f} s lies {t_s - now:.3f} s in the future')
            return False
        if self.estimator.t_s is not None and t_s < self.estimator.t_s - 1.0:
            self._reject(sensor, f'stamp {t_s:.3f} s is older than the filter time {self.estimator.t_s:.3f} s')
            return False
        return True

    def _on_imu(self, msg):
        t = to_seconds(msg.header.stamp)
        w, q = msg.angular_velocity.z, msg.orientation
        if not all_finite(w, q.x, q.y, q.z, q.w, t):
            return self._reject('imu', 'non-finite field')
        if not self._stamp_ok('imu', t):
            return
        with self._lock:
            self._yaw_rate = w
            self._ahrs_yaw = quaternion_to_yaw(q)
            self.estimator.predict(t, self._speed, w)

    def _on_heading(self, msg):
        t, q = to_seconds(msg.header.stamp), msg.orientation
        var = msg.orientation_covariance[8]
        if not all_finite(q.x, q.y, q.z, q.w, var, t):
            return self._reject('gnss_heading', 'non-finite field')
        if not 0.0 < var < 1.0:
            return self._reject('gnss_heading', f'yaw variance {var} is not in (0, 1) rad^2')
        if not self._stamp_ok('gnss_heading', t):
            return
        with self._lock:
            if self.estimator.initialized:
                self.estimator.predict(t, self._speed, self._yaw_rate)
                if not self.estimator.update_heading(quaternion_to_yaw(q), var, t):
                    self.get_logger().warning(self.estimator.last_rejection, throttle_duration_sec=2.0)

    def _on_odometry(self, msg):
        v = msg.twist.twist.linear.x
        if not all_finite(v) or abs(v) > 30.0:
            return self._reject('odometry', f'speed {v} is not a plausible number')
        with self._lock:
            self._speed = v

    def _on_gnss(self, msg):
        t = to_seconds(msg.header.stamp)
        mode = FIX_MODES.get(msg.status.status)
        if mode is None:
            return self._reject('gnss', f'fix status {msg.status.status} is not a fix')
        if not all_finite(msg.latitude, msg.longitude, msg.altitude, t, *msg.position_covariance):
            return self._reject('gnss', 'non-finite field')
        cov = np.asarray(msg.position_covariance, dtype=float).reshape(3, 3)[:2, :2]
        if msg.position_covariance_type == NavSatFix.COVARIANCE_TYPE_UNKNOWN or \
                np.linalg.eigvalsh(0.5 * (cov + cov.T)).min() <= 0.0:
            return self._reject('gnss', 'position covariance unknown or not positive definite')
        if not self._stamp_ok('gnss', t):
            return
        x, y, _ = self.datum.to_map(msg.latitude, msg.longitude, msg.altitude)
        with self._lock:
            if not self.estimator.initialized:
                if self._ahrs_yaw is None:
                    return                       # wait for a first IMU sample to seed the heading
                self.estimator.initialize(t, (float(x), float(y)), self._ahrs_yaw, math.sqrt(cov[0, 0]))
                bx, by, byaw = self.estimator.x[:3]
                self.get_logger().info(f'initialized: base_link at ({bx:.2f}, {by:.2f}) m, '
                                       f'yaw {math.degrees(byaw):.1f} deg')
            else:
                self.estimator.predict(t, self._speed, self._yaw_rate)
                if not self.estimator.update_gnss((float(x), float(y)), cov, t):
                    self.get_logger().warning(self.estimator.last_rejection, throttle_duration_sec=2.0)
                    return
            self._last_fix_s, self._fix_mode = t, mode

    # ---- outputs ------------------------------------------------------------------------
    def _mode(self, now_s, position_std):
        if not self.estimator.initialized:
            return LocalizationStatus.MODE_INITIALIZING
        if position_std > self.lost_position_std_m:
            return LocalizationStatus.MODE_LOST
        if now_s - self._last_fix_s > self.gnss_timeout_s:
            return LocalizationStatus.MODE_DEAD_RECKONING
        return self._fix_mode

    def _publish(self):
        now = self.get_clock().now()
        now_s = now.nanoseconds * 1e-9
        with self._lock:
            if not self.estimator.initialized:
                status = LocalizationStatus(mode=LocalizationStatus.MODE_INITIALIZING)
                status.header.stamp = now.to_msg()
                self.pub_status.publish(status)
                return
            x, y, yaw = self.estimator.pose_at(now_s, self._speed, self._yaw_rate)
            P = self.estimator.P.copy()
            speed, yaw_rate = self._speed, self._yaw_rate - self.estimator.x[3]
            used = dict(self.estimator.counters.used)
            rejected = dict(self._rejected)
            for sensor, n in self.estimator.counters.rejected.items():
                rejected[sensor] += n
        odom = Odometry()
        odom.header.stamp, odom.header.frame_id, odom.child_frame_id = now.to_msg(), 'map', 'base_link'
        odom.pose.pose.position.x, odom.pose.pose.position.y = x, y
        odom.pose.pose.orientation = yaw_to_quaternion(yaw)
        cov = [0.0] * 36
        cov[0], cov[1], cov[6], cov[7] = P[0, 0], P[0, 1], P[1, 0], P[1, 1]
        cov[5], cov[30], cov[35] = P[0, 2], P[2, 0], P[2, 2]
        cov[11], cov[31] = P[1, 2], P[2, 1]
        cov[14] = cov[21] = cov[28] = 1e6                 # z, roll, pitch: not estimated
        odom.pose.covariance = cov
        odom.twist.twist.linear.x, odom.twist.twist.angular.z = speed, yaw_rate
        self.pub_odom.publish(odom)
        self._published += 1
        if self._published % max(1, self.status_every):
            return
        position_std = math.sqrt(max(P[0, 0] + P[1, 1], 0.0))
        sigma_major = math.sqrt(max(np.linalg.eigvalsh(P[:2, :2]).max(), 0.0))
        status = LocalizationStatus(mode=self._mode(now_s, position_std),
                                    protection_level_m=PROTECTION_SIGMAS * sigma_major,
                                    position_std_m=position_std, heading_std_rad=math.sqrt(max(P[2, 2], 0.0)))
        status.header.stamp = now.to_msg()
        status.sensors = list(rejected)
        status.measurements_used = [used.get(k, 0) for k in rejected]
        status.measurements_rejected = list(rejected.values())
        self.pub_status.publish(status)
        self._last_status = status

    def _publish_diagnostics(self):
        status = self._last_status
        if status is None:
            level, message, values = DiagnosticStatus.WARN, 'waiting for a first GNSS fix and IMU sample', {}
        else:
            level = {LocalizationStatus.MODE_LOST: DiagnosticStatus.ERROR,
                     LocalizationStatus.MODE_INITIALIZING: DiagnosticStatus.WARN,
                     LocalizationStatus.MODE_DEAD_RECKONING: DiagnosticStatus.WARN}.get(status.mode, DiagnosticStatus.OK)
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
