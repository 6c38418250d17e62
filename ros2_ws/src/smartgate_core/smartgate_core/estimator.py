"""Planar pose estimation: an extended Kalman filter over [x, y, yaw, gyro bias].

Prediction integrates wheel speed and IMU yaw rate (unicycle model of base_link); GNSS antenna
fixes correct it through the lever arm, and the dual-antenna GNSS heading corrects yaw (which the
lever arm makes matter: 0.1 deg of yaw is 1.7 cm at a 9.5 m arm). Measurements whose Mahalanobis
distance exceeds the chi-square gate are rejected and counted.

Late measurements (stamped before the filter time: transport latency, callbacks out of order) are
moved forward by the vehicle's own motion since their stamp, taken from a short history of filter
states, before they are compared. A run of rejected fixes re-anchors the position on GNSS (with
its covariance), so one bad stretch cannot lock the filter out of GNSS for good.
"""
from __future__ import annotations

import math
from collections import deque
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
    reanchor_after: int = doc(20, 'consecutive rejected GNSS fixes after which the position re-anchors on GNSS')
    history_s: float = doc(2.0, 'filter states kept to move late measurements to the filter time [s]')


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
        self.consecutive_rejections = 0
        self._history = deque()             # (t, x, y, yaw) of recent filter states

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
        self._history.clear()
        self._remember()

    def _remember(self):
        self._history.append((self.t_s, self.x[0], self.x[1], self.x[2]))
        while self._history and self._history[0][0] < self.t_s - self.params.history_s:
            self._history.popleft()

    def _motion_since(self, t_s):
        """(dx, dy, dyaw) of the filter state from time t_s to now (zero when t_s is not in the past)."""
        if t_s is None or t_s >= self.t_s or not self._history:
            return 0.0, 0.0, 0.0
        times = [h[0] for h in self._history]
        i = int(np.searchsorted(times, t_s))
        if i == 0:
            _, hx, hy, hyaw = self._history[0]
        else:                                   # interpolate between the states around t_s
            t0, x0, y0, yaw0 = self._history[i - 1]
            t1, x1, y1, yaw1 = self._history[min(i, len(times) - 1)]
            w = (t_s - t0) / (t1 - t0) if t1 > t0 else 0.0
            hx, hy = x0 + w * (x1 - x0), y0 + w * (y1 - y0)
            hyaw = yaw0 + w * math.remainder(yaw1 - yaw0, 2.0 * math.pi)
        return self.x[0] - hx, self.x[1] - hy, math.remainder(self.x[2] - hyaw, 2.0 * math.pi)

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
        self._remember()

    def update_gnss(self, antenna_xy, covariance_2x2, t_s=None) -> bool:
        """Correct with an antenna fix in the map frame stamped t_s (None: now); False when gated out."""
        lx, ly = self.params.lever_arm_m
        x, y, yaw, _ = self.x
        c, s = math.cos(yaw), math.sin(yaw)
        arm = np.array([c * lx - s * ly, s * lx + c * ly])
        dx, dy, dyaw = self._motion_since(t_s)
        cp, sp = math.cos(yaw - dyaw), math.sin(yaw - dyaw)
        arm_then = np.array([cp * lx - sp * ly, sp * lx + cp * ly])
        measured = np.asarray(antenna_xy, dtype=float) + np.array([dx, dy]) + (arm - arm_then)
        predicted = np.array([x, y]) + arm
        H = np.zeros((2, 4))
        H[0, 0] = H[1, 1] = 1.0
        H[0, 2], H[1, 2] = -arm[1], arm[0]
        R = np.asarray(covariance_2x2, dtype=float)
        innovation = measured - predicted
        S = H @ self.P @ H.T + R
        d2 = float(innovation @ np.linalg.solve(S, innovation))
        if d2 > self.params.gate_chi2:
            self.counters.count('gnss', False)
            self.consecutive_rejections += 1
            self.last_rejection = f'gnss fix gated out: Mahalanobis distance^2 {d2:.1f} > {self.params.gate_chi2:.1f}'
            if self.consecutive_rejections >= self.params.reanchor_after:
                self._reanchor(measured - arm, R)
            return False
        self.consecutive_rejections = 0
        K = self.P @ H.T @ np.linalg.inv(S)
        self.x += K @ innovation
        self.x[2] = math.remainder(self.x[2], 2.0 * math.pi)
        I_KH = np.eye(4) - K @ H
        self.P = I_KH @ self.P @ I_KH.T + K @ R @ K.T     # Joseph form keeps P symmetric PSD
        self.counters.count('gnss', True)
        return True

    def _reanchor(self, base_xy, R):
        """Move the position onto GNSS (its covariance plus the lever arm's yaw share), decorrelated."""
        lx, ly = self.params.lever_arm_m
        arm_var = (lx * lx + ly * ly) * self.P[2, 2]
        self.x[0], self.x[1] = base_xy
        self.P[0:2, :] = 0.0
        self.P[:, 0:2] = 0.0
        self.P[0:2, 0:2] = R + arm_var * np.eye(2)
        self.consecutive_rejections = 0
        self.last_rejection += f'; re-anchored on GNSS after {self.params.reanchor_after} rejected fixes'

    def update_heading(self, yaw_rad, variance, t_s=None) -> bool:
        """Correct yaw with a dual-antenna GNSS heading stamped t_s; False (and counted) when gated out."""
        innovation = math.remainder(yaw_rad + self._motion_since(t_s)[2] - self.x[2], 2.0 * math.pi)
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
