"""Planar pose estimation: an extended Kalman filter over [x, y, yaw, gyro bias].

Prediction integrates wheel speed and IMU yaw rate (unicycle model of base_link); GNSS antenna
fixes correct it through the lever arm, and the dual-antenna GNSS heading corrects yaw (which the
lever arm makes matter: 0.1 deg of yaw is 1.7 cm at a 9.5 m arm). Measurements whose Mahalanobis
distance exceeds the chi-square gate are rejected and counted.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from .params import doc

CHI2_2DOF_999 = 13.816      # 99.9 % gate for a 2-D innovation
CHI2_1DOF_999 = 10.828      # 99.9 % gate for a scalar innovation


@dataclass(frozen=True)
class EstimatorParams:
    lever_arm_m: tuple = doc((9.5, 0.0), 'GNSS antenna in base_link [m]')
    speed_sigma_mps: float = doc(0.02, 'wheel-speed noise [m/s]')
    speed_scale_sigma: float = doc(0.003, 'wheel-speed scale error [fraction]')
    gyro_sigma_radps: float = doc(0.002, 'yaw-rate noise [rad/s]')
    gyro_bias_walk_radps2: float = doc(1e-5, 'gyro bias random walk [rad/s/sqrt(s)]')
    initial_yaw_sigma_rad: float = doc(0.05, 'initial yaw uncertainty, from the AHRS yaw [rad]')
    initial_bias_sigma_radps: float = doc(0.002, 'initial gyro-bias uncertainty [rad/s]')
    gate_chi2: float = doc(CHI2_2DOF_999, 'Mahalanobis gate on GNSS innovations (chi-square, 2 dof)')


@dataclass
class Counters:
    used: dict = field(default_factory=dict)
    rejected: dict = field(default_factory=dict)

    def count(self, sensor, ok):
        book = self.used if ok else self.rejected
        book[sensor] = book.get(sensor, 0) + 1


class PoseEstimator:
    """EKF; call predict() with each IMU/odometry sample, update_gnss() with each fix."""

    def __init__(self, params: EstimatorParams):
        self.params = params
        self.x = np.zeros(4)                 # x [m], y [m], yaw [rad], gyro bias [rad/s]
        self.P = np.eye(4)
        self.t_s = None
        self.initialized = False
        self.counters = Counters()
        self.last_rejection = ''

    def initialize(self, t_s, antenna_xy, yaw_rad, position_sigma_m):
        """Start from a GNSS antenna fix and a coarse yaw (AHRS)."""
        lx, ly = self.params.lever_arm_m
        c, s = math.cos(yaw_rad), math.sin(yaw_rad)
        self.x[:] = [antenna_xy[0] - (c * lx - s * ly), antenna_xy[1] - (s * lx + c * ly), yaw_rad, 0.0]
        arm = math.hypot(lx, ly) * self.params.initial_yaw_sigma_rad
        pos_var = position_sigma_m ** 2 + arm ** 2
        self.P = np.diag([pos_var, pos_var, self.params.initial_yaw_sigma_rad ** 2,
                          self.params.initial_bias_sigma_radps ** 2])
        self.t_s, self.initialized = t_s, True

    def predict(self, t_s, speed_mps, yaw_rate_radps):
        """Propagate to t_s with the measured speed and yaw rate held since the last call."""
        if not self.initialized:
            return
        dt = t_s - self.t_s
        if dt <= 0.0:
            return
        p = self.params
        x, y, yaw, bias = self.x
        w = yaw_rate_radps - bias
        yaw_mid = yaw + 0.5 * w * dt
        c, s = math.cos(yaw_mid), math.sin(yaw_mid)
        self.x[0] = x + speed_mps * c * dt
        self.x[1] = y + speed_mps * s * dt
        self.x[2] = math.remainder(yaw + w * dt, 2.0 * math.pi)
        F = np.eye(4)
        F[0, 2], F[1, 2] = -speed_mps * s * dt, speed_mps * c * dt
        F[0, 3], F[1, 3] = 0.5 * speed_mps * s * dt * dt, -0.5 * speed_mps * c * dt * dt
        F[2, 3] = -dt
        sv2 = p.speed_sigma_mps ** 2 + (p.speed_scale_sigma * speed_mps) ** 2
        G = np.array([[c * dt, 0.0], [s * dt, 0.0], [0.0, dt], [0.0, 0.0]])
        Q = G @ np.diag([sv2, p.gyro_sigma_radps ** 2]) @ G.T
        Q[3, 3] = p.gyro_bias_walk_radps2 ** 2 * dt
        self.P = F @ self.P @ F.T + Q
        self.t_s = t_s

    def update_gnss(self, antenna_xy, covariance_2x2) -> bool:
        """Correct with an antenna fix in the map frame; False (and counted) when gated out."""
        lx, ly = self.params.lever_arm_m
        x, y, yaw, _ = self.x
        c, s = math.cos(yaw), math.sin(yaw)
        predicted = np.array([x + c * lx - s * ly, y + s * lx + c * ly])
        H = np.zeros((2, 4))
        H[0, 0] = H[1, 1] = 1.0
        H[0, 2], H[1, 2] = -s * lx - c * ly, c * lx - s * ly
        innovation = np.asarray(antenna_xy, dtype=float) - predicted
        S = H @ self.P @ H.T + np.asarray(covariance_2x2, dtype=float)
        d2 = float(innovation @ np.linalg.solve(S, innovation))
        if d2 > self.params.gate_chi2:
            self.counters.count('gnss', False)
            self.last_rejection = f'gnss fix gated out: Mahalanobis distance^2 {d2:.1f} > {self.params.gate_chi2:.1f}'
            return False
        K = self.P @ H.T @ np.linalg.inv(S)
        self.x += K @ innovation
        self.x[2] = math.remainder(self.x[2], 2.0 * math.pi)
        I_KH = np.eye(4) - K @ H
        self.P = I_KH @ self.P @ I_KH.T + K @ covariance_2x2 @ K.T     # Joseph form keeps P symmetric PSD
        self.counters.count('gnss', True)
        return True

    def update_heading(self, yaw_rad, variance) -> bool:
        """Correct yaw with a dual-antenna GNSS heading; False (and counted) when gated out."""
        innovation = math.remainder(yaw_rad - self.x[2], 2.0 * math.pi)
        H = np.array([0.0, 0.0, 1.0, 0.0])
        S = float(self.P[2, 2] + variance)
        if innovation * innovation / S > CHI2_1DOF_999:
            self.counters.count('gnss_heading', False)
            self.last_rejection = f'gnss heading gated out: innovation {math.degrees(innovation):.2f} deg'
            return False
        K = self.P[:, 2] / S
        self.x += K * innovation
        self.x[2] = math.remainder(self.x[2], 2.0 * math.pi)
        I_KH = np.eye(4) - np.outer(K, H)
        self.P = I_KH @ self.P @ I_KH.T + variance * np.outer(K, K)
        self.counters.count('gnss_heading', True)
        return True

    def pose_at(self, t_s, speed_mps, yaw_rate_radps):
        """(x, y, yaw) extrapolated to t_s without changing the filter."""
        x, y, yaw, bias = self.x
        dt = max(0.0, t_s - self.t_s) if self.t_s is not None else 0.0
        w = yaw_rate_radps - bias
        yaw_mid = yaw + 0.5 * w * dt
        return (x + speed_mps * math.cos(yaw_mid) * dt, y + speed_mps * math.sin(yaw_mid) * dt,
                math.remainder(yaw + w * dt, 2.0 * math.pi))

    @property
    def position_std_m(self) -> float:
        return math.sqrt(max(self.P[0, 0] + self.P[1, 1], 0.0))

    @property
    def yaw_std_rad(self) -> float:
        return math.sqrt(max(self.P[2, 2], 0.0))
