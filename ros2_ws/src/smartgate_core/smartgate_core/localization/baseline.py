"""A robot_localization-like baseline: the EKF a typical 2-D robot_localization setup would run on this
vehicle, so the benchmark can compare our Localizer with what a team would get off the shelf. Not used
for driving.

What it models (ekf_node in two_d_mode, fed through navsat_transform_node):
  - state [x, y, yaw, v, yaw rate] of base_link with a constant-velocity model, process noise Q dt
    with a diagonal Q (process_noise_covariance), Joseph-form updates;
  - wheel odometry speed (twist vx) and IMU yaw rate (angular velocity z), each with a fixed variance
    as the driver states it;
  - the dual-antenna GNSS heading as an absolute yaw, fed as users feed an IMU orientation;
  - GNSS positions moved to base_link with the current yaw estimate and the antenna offset, as
    navsat_transform does with the static TF, each fix with the receiver's covariance taken as
    independent of the last; a Mahalanobis rejection threshold on them (pose0_rejection_threshold),
    none on the other inputs (robot_localization's default).
What it lacks, on purpose (our Localizer's extras): 5G, gyro-bias and odometry-scale states, RTK-float
correlation weighting, a protection level, re-anchoring and latency compensation (a reading is applied
at the filter time when it is stamped earlier, as robot_localization does without smoothing).

Readings are applied in order of arrival: predict to the stamp, then correct. The first GNSS fix after
a heading starts the filter; before that, the latest heading, speed and yaw rate are kept as its seed.
Bad input (a non-finite value, a covariance that is not symmetric positive definite, a variance that is
not positive) is refused, counted in `rejected` under its sensor with the reason in `last_rejection`,
and changes nothing: never raised, so a benchmark run goes on and the count shows what was dropped.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..params import doc

X, Y, YAW, SPEED, YAW_RATE = range(5)
N_STATES = 5
SENSORS = ('odometry', 'imu', 'gnss', 'gnss_heading')


@dataclass(frozen=True)
class RlBaselineParams:
    lever_arm_m: tuple = doc((9.5, 0.0), 'GNSS antenna in base_link, the static TF navsat_transform uses [m]')
    process_noise_xy_m2ps: float = doc(0.05, 'process noise of x and of y (robot_localization default) [m^2/s]')
    process_noise_yaw_rad2ps: float = doc(0.06, 'process noise of yaw (robot_localization default) [rad^2/s]')
    process_noise_speed_m2ps3: float = doc(0.025, 'process noise of the speed (robot_localization default) '
                                                  '[m^2/s^3]')
    process_noise_yaw_rate_rad2ps3: float = doc(0.02, 'process noise of the yaw rate (robot_localization '
                                                      'default) [rad^2/s^3]')
    odometry_speed_sigma_mps: float = doc(0.02, 'wheel-speed 1-sigma the odometry message states [m/s]')
    imu_yaw_rate_sigma_radps: float = doc(0.0006, 'yaw-rate 1-sigma the IMU message states [rad/s]')
    position_rejection_threshold: float = doc(math.inf, 'Mahalanobis distance beyond which a GNSS position is '
                                                        'rejected (pose0_rejection_threshold; inf: none) [sigma]')
    initial_speed_sigma_mps: float = doc(1.0, 'speed uncertainty when the filter starts [m/s]')
    initial_yaw_rate_sigma_radps: float = doc(0.1, 'yaw-rate uncertainty when the filter starts [rad/s]')


def _arm(yaw, lever):
    """The lever arm rotated to the map frame, as (x, y) floats [m]."""
    c, s = math.cos(yaw), math.sin(yaw)
    return c * lever[0] - s * lever[1], s * lever[0] + c * lever[1]


class RlBaseline:
    """The baseline EKF: feed readings in order of arrival, read x (or pose_at) and the counters."""

    def __init__(self, params: RlBaselineParams):
        self.params = params
        self.x = np.zeros(N_STATES)
        self.P = np.eye(N_STATES)
        self.t_s = None
        self.initialized = False
        self.used = {s: 0 for s in SENSORS}
        self.rejected = {s: 0 for s in SENSORS}
        self.last_rejection = ''
        self._q = np.diag([params.process_noise_xy_m2ps, params.process_noise_xy_m2ps,
                           params.process_noise_yaw_rad2ps, params.process_noise_speed_m2ps3,
                           params.process_noise_yaw_rate_rad2ps3])
        self._seed_heading = None           # (yaw [rad], variance [rad^2]) until the first fix
        self._seed_speed_mps = 0.0
        self._seed_yaw_rate_radps = 0.0

    # ---- inputs: each returns True when the reading was used -------------------------------------
    def odometry(self, t_s, speed_mps):
        """Wheel-odometry speed of base_link [m/s]."""
        if not (math.isfinite(t_s) and math.isfinite(speed_mps)):
            return self._reject('odometry', f'stamp {t_s} or speed {speed_mps} is not finite')
        if not self.initialized:
            self._seed_speed_mps = speed_mps
            return self._use('odometry')
        self._predict(t_s)
        self._correct_state(SPEED, speed_mps - self.x[SPEED], self.params.odometry_speed_sigma_mps ** 2)
        return self._use('odometry')

    def imu(self, t_s, yaw_rate_radps):
        """IMU yaw rate [rad/s]."""
        if not (math.isfinite(t_s) and math.isfinite(yaw_rate_radps)):
            return self._reject('imu', f'stamp {t_s} or yaw rate {yaw_rate_radps} is not finite')
        if not self.initialized:
            self._seed_yaw_rate_radps = yaw_rate_radps
            return self._use('imu')
        self._predict(t_s)
        self._correct_state(YAW_RATE, yaw_rate_radps - self.x[YAW_RATE], self.params.imu_yaw_rate_sigma_radps ** 2)
        return self._use('imu')

    def gnss_heading(self, t_s, yaw_rad, variance):
        """Dual-antenna heading as an absolute yaw [rad] with its variance [rad^2]."""
        if not (math.isfinite(t_s) and math.isfinite(yaw_rad) and math.isfinite(variance)):
            return self._reject('gnss_heading', f'stamp {t_s}, heading {yaw_rad} or variance {variance} '
                                                'is not finite')
        if variance <= 0.0:
            return self._reject('gnss_heading', f'variance {variance} is not positive')
        if not self.initialized:
            self._seed_heading = (yaw_rad, variance)
            return self._use('gnss_heading')
        self._predict(t_s)
        self._correct_state(YAW, math.remainder(yaw_rad - self.x[YAW], 2.0 * math.pi), variance)
        return self._use('gnss_heading')

    def gnss(self, t_s, antenna_xy, covariance_2x2):
        """A GNSS antenna fix in the map frame [m] with the receiver's covariance [m^2]."""
        xy = np.asarray(antenna_xy, dtype=float)
        R = np.asarray(covariance_2x2, dtype=float)
        if xy.shape != (2,) or R.shape != (2, 2):
            return self._reject('gnss', f'position of shape {xy.shape} or covariance of shape {R.shape}')
        if not (math.isfinite(t_s) and np.isfinite(xy).all() and np.isfinite(R).all()):
            return self._reject('gnss', 'stamp, position or covariance is not finite')
        (a, b), (c, d) = R.tolist()
        if not (abs(b - c) <= 1e-9 * max(abs(a), abs(d)) and a > 0.0 and d > 0.0 and a * d > b * c):
            return self._reject('gnss', 'covariance is not symmetric positive definite')
        if not self.initialized:
            if self._seed_heading is None:
                return self._reject('gnss', 'no heading yet to move the fix to base_link')
            self._start(t_s, xy, R)
            return self._use('gnss')
        self._predict(t_s)
        ax, ay = _arm(self.x[YAW], self.params.lever_arm_m)
        innovation = xy - np.array([ax, ay]) - self.x[:2]
        return self._correct_position(innovation, R)

    # ---- outputs -------------------------------------------------------------------------------
    def pose_at(self, t_s):
        """(x, y, yaw) of base_link extrapolated to t_s with the filter's own velocity, as the node
        publishes it at its frequency; the filter is not changed."""
        x, y, yaw, v, w = self.x.tolist()
        dt = max(0.0, t_s - self.t_s)
        return x + v * math.cos(yaw) * dt, y + v * math.sin(yaw) * dt, math.remainder(yaw + w * dt, 2.0 * math.pi)

    # ---- the filter ----------------------------------------------------------------------------
    def _start(self, t_s, antenna_xy, R):
        """Start on a fix moved to base_link with the seed heading; the lever arm carries the heading's
        uncertainty into the position."""
        p = self.params
        yaw, yaw_var = self._seed_heading
        ax, ay = _arm(yaw, p.lever_arm_m)
        self.x[:] = [antenna_xy[0] - ax, antenna_xy[1] - ay, yaw, self._seed_speed_mps, self._seed_yaw_rate_radps]
        arm_var = (ax * ax + ay * ay) * yaw_var
        self.P = np.diag([R[0, 0] + arm_var, R[1, 1] + arm_var, yaw_var,
                          p.initial_speed_sigma_mps ** 2, p.initial_yaw_rate_sigma_radps ** 2])
        self.P[0, 1] = self.P[1, 0] = R[0, 1]
        self.t_s, self.initialized = t_s, True

    def _predict(self, t_s):
        """Constant-velocity model to t_s (forward Euler, as robot_localization); nothing for an older stamp."""
        dt = t_s - self.t_s
        if dt <= 0.0:
            return
        x, y, yaw, v, w = self.x.tolist()
        c, s = math.cos(yaw), math.sin(yaw)
        self.x[X] = x + v * c * dt
        self.x[Y] = y + v * s * dt
        self.x[YAW] = math.remainder(yaw + w * dt, 2.0 * math.pi)
        F = np.eye(N_STATES)
        F[X, YAW], F[X, SPEED] = -v * s * dt, c * dt
        F[Y, YAW], F[Y, SPEED] = v * c * dt, s * dt
        F[YAW, YAW_RATE] = dt
        self.P = F @ self.P @ F.T + self._q * dt
        self.t_s = t_s

    def _correct_state(self, i, innovation, variance):
        """Joseph-form update with a direct measurement of state i: K = P e_i / S, S = P_ii + r."""
        P = self.P
        S = P[i, i] + variance
        K = P[:, i] / S
        self.x += K * innovation
        self.x[YAW] = math.remainder(self.x[YAW], 2.0 * math.pi)
        Kc = K[:, None]
        # (I - K e_i^T) P (I - K e_i^T)^T + K r K^T
        self.P = P - Kc * P[i] - P[:, i, None] * K + S * (Kc * K)

    def _correct_position(self, innovation, R):
        """Joseph-form update with a base_link position, after the Mahalanobis rejection threshold."""
        P = self.P
        S = P[:2, :2] + R
        (a, b), (c, d) = S.tolist()
        det = a * d - b * c
        e0, e1 = innovation.tolist()
        d2 = (e0 * (d * e0 - b * e1) + e1 * (a * e1 - c * e0)) / det
        threshold = self.params.position_rejection_threshold
        if d2 >= threshold * threshold:
            return self._reject('gnss', f'Mahalanobis distance {math.sqrt(d2):.1f} beyond the rejection '
                                        f'threshold {threshold:g}')
        K = P[:, :2] @ np.array([[d, -b], [-c, a]]) / det
        self.x += K @ innovation
        self.x[YAW] = math.remainder(self.x[YAW], 2.0 * math.pi)
        # (I - K H) P (I - K H)^T + K R K^T with H = [I 0]
        self.P = P - K @ P[:2] - P[:, :2] @ K.T + K @ S @ K.T
        return self._use('gnss')

    def _use(self, sensor):
        self.used[sensor] += 1
        return True

    def _reject(self, sensor, why):
        self.rejected[sensor] += 1
        self.last_rejection = f'rejected {sensor}: {why}'
        return False
