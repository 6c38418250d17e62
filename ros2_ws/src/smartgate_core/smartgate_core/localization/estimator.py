"""Planar pose estimation with integrity: an extended Kalman filter over
[x, y, yaw, gyro bias, odometry scale, side-slip].

Prediction integrates wheel speed (times the estimated scale) and IMU yaw rate (minus the estimated
bias) at base_link along its course: the heading plus the side-slip of the rear axle. A truck's
tyres slip to carry a turn, so in a steady turn base_link runs outside its heading by a_y / (g c)
(c the tyres' nominal cornering stiffness per unit load, a_y = v r): about 0.3 deg at 0.35 m/s^2; on
a crossfall or in a crosswind the vehicle crabs a little too. The nominal turn slip is modelled, the
rest is a slowly varying (Gauss-Markov) state; without it the GNSS track and the dual-antenna
heading disagree, and the filter splits the difference into centimetres of position error.
Corrections:
  - GNSS antenna fixes through the lever arm, with the receiver's covariance for its fix type;
  - the dual-antenna GNSS heading (0.1 deg of yaw is 1.7 cm at a 9.5 m arm);
  - 5G NR network location fixes (position with covariance) and time-of-arrival ranges to gNB
    sites; non-line-of-sight ranges are long, never short, and the gate removes the large ones.
Every measurement passes a chi-square gate on its Mahalanobis distance; rejections are counted
per sensor. Measurements stamped before the filter time (latency, callbacks out of order) are
moved forward by the filter's own motion since their stamp, from a short history of predicted
states (kept consistent with every correction). A long run of rejected GNSS fixes that agree with
each other re-anchors the position on them, so one bad stretch cannot lock the filter out for good.

Cost: the 5G ranges (one scalar correction per gNB, 10 Hz) are the busiest input, so a scalar
measurement takes a path of its own: S is a number, K = P h / S needs no inverse and the Joseph form
is a sum of outer products; a 2-D one inverts its 2x2 S in closed form. The history of past states is
stored less the sum of the corrections made since initialization, so a correction moves the whole
history by updating that sum instead of rewriting every stored state.

Protection level: PL = k * sigma_major + b, with k for the configured integrity risk on a 2-D
Gaussian and b a bias bound carried through the filter: each accepted position measurement moves
b toward its own source's bound by the share of the Kalman gain it gets (b <- (1 - g) b + g b_src),
so correlated errors (multipath walk, NLOS) are over-bounded, not assumed white, and a coarse fix
that barely moves the estimate barely moves b.
"""
from __future__ import annotations

import math
from bisect import bisect_left
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from ..params import doc

# GNSS fix types, as a receiver reports them (the simulator's receiver and the node use these names)
FIX_NONE, FIX_SINGLE, FIX_RTK_FLOAT, FIX_RTK_FIXED = 'none', 'single', 'rtk_float', 'rtk_fixed'
CHI2_2DOF_999 = 13.816      # 99.9 % gate for a 2-D innovation
CHI2_1DOF_999 = 10.828      # 99.9 % gate for a scalar innovation
N_STATES = 6                # x, y, yaw, gyro bias, odometry scale, side-slip
_YAW_ROW = np.array([0.0, 0.0, 1.0, 0.0, 0.0, 0.0])     # h of a yaw measurement (never written to)
G_MPS2 = 9.80665


@dataclass(frozen=True)
class EstimatorParams:
    lever_arm_m: tuple = doc((9.5, 0.0), 'GNSS antenna in base_link [m]')
    fiveg_lever_arm_m: tuple = doc((4.5, 0.0), '5G modem antenna in base_link [m]')
    fiveg_antenna_height_m: float = doc(3.0, '5G modem antenna above the ground (the map datum height) [m]')
    speed_sigma_mps: float = doc(0.02, 'wheel-speed noise [m/s]')
    speed_relative_sigma: float = doc(0.02, 'wheel-speed error growing with speed (slip, tyre load) [fraction]')
    gyro_sigma_radps: float = doc(0.0006, 'yaw-rate noise per sample [rad/s]')
    gyro_bias_walk_radps2: float = doc(1e-5, 'gyro bias random walk [rad/s/sqrt(s)]')
    scale_walk: float = doc(1e-5, 'odometry scale random walk [1/sqrt(s)]')
    initial_yaw_sigma_rad: float = doc(0.05, 'initial yaw uncertainty, from the AHRS yaw [rad]')
    initial_bias_sigma_radps: float = doc(0.002, 'initial gyro-bias uncertainty [rad/s]')
    initial_scale_sigma: float = doc(0.01, 'initial odometry scale uncertainty [fraction]')
    tyre_cornering_coefficient_1prad: float = doc(7.0, 'nominal cornering stiffness per unit axle load, for the turn slip [1/rad]')
    slip_sigma_rad: float = doc(0.004, 'side-slip beyond the nominal turn slip (crossfall, wind, tyres) [rad]')
    slip_time_constant_s: float = doc(60.0, 'correlation time of that side-slip [s]')
    gate_chi2: float = doc(CHI2_2DOF_999, 'Mahalanobis gate on 2-D innovations (chi-square, 2 dof)')
    gate_chi2_1d: float = doc(CHI2_1DOF_999, 'Mahalanobis gate on scalar innovations (chi-square, 1 dof)')
    reanchor_after: int = doc(15, 'consecutive rejected RTK-fixed fixes, agreeing with each other, that re-anchor')
    history_s: float = doc(2.0, 'filter states kept to move late measurements to the filter time [s]')
    integrity_sigmas: float = doc(5.68, 'k of the protection level: P(error > k sigma) = 1e-7 in 2-D')
    bias_bound_rtk_fixed_m: float = doc(0.03, 'bias over-bound of RTK-fixed positions [m]')
    bias_bound_rtk_float_m: float = doc(0.6, 'bias over-bound of RTK-float positions [m]')
    bias_bound_single_m: float = doc(4.0, 'bias over-bound of single-point positions [m]')
    bias_bound_fiveg_m: float = doc(0.8, 'bias over-bound of 5G positions and ranges [m]')
    gnss_timeout_s: float = doc(1.0, 'no accepted GNSS fix for this long: the position rests on 5G and odometry [s]')


@dataclass
class Counters:
    used: dict = field(default_factory=dict)
    rejected: dict = field(default_factory=dict)

    def count(self, sensor, ok):
        book = self.used if ok else self.rejected
        book[sensor] = book.get(sensor, 0) + 1


def _arm(yaw, lever):
    """The lever arm rotated to the map frame, as (x, y) floats [m]."""
    c, s = math.cos(yaw), math.sin(yaw)
    return c * lever[0] - s * lever[1], s * lever[0] + c * lever[1]


class PoseEstimator:
    """EKF; call predict() with each IMU/odometry sample and the update_*() methods with measurements."""

    def __init__(self, params: EstimatorParams):
        self.params = params
        self.x = np.zeros(N_STATES)
        self.x[4] = 1.0
        self.P = np.eye(N_STATES)
        self.t_s = None
        self.initialized = False
        self.counters = Counters()
        self.last_rejection = ''
        self.consecutive_rejections = 0
        self.bias_bound_m = params.bias_bound_rtk_fixed_m     # carried through the filter gain
        self.last_gnss_s = -math.inf
        self._rejected_offsets = deque(maxlen=max(1, params.reanchor_after))
        self._history_t = []                # stamps of recent filter states, ascending [s]
        self._history = []                  # their (x, y, yaw), less the corrections made by then
        self._corrections = [0.0, 0.0, 0.0]     # sum of the (x, y, yaw) corrections since initialize
        self._F = np.eye(N_STATES)          # predict Jacobian: the same entries are refilled each call

    # ---- time update --------------------------------------------------------------------
    def initialize(self, t_s, antenna_xy, yaw_rad, position_sigma_m, bias_bound_m=None):
        """Start from a GNSS antenna fix and a coarse yaw (AHRS)."""
        p = self.params
        yaw_rad = math.remainder(yaw_rad, 2.0 * math.pi)
        ax, ay = _arm(yaw_rad, p.lever_arm_m)
        base = np.asarray(antenna_xy, dtype=float) - np.array([ax, ay])
        self.x[:] = [base[0], base[1], yaw_rad, 0.0, 1.0, 0.0]
        # base = antenna - R(yaw) l: a yaw error moves base_link along J = d(base)/d(yaw) = (arm_y, -arm_x)
        J = np.array([ay, -ax])
        yaw_var = p.initial_yaw_sigma_rad ** 2
        self.P = np.diag([0.0, 0.0, yaw_var, p.initial_bias_sigma_radps ** 2, p.initial_scale_sigma ** 2,
                          p.slip_sigma_rad ** 2])
        self.P[0:2, 0:2] = position_sigma_m ** 2 * np.eye(2) + np.outer(J, J) * yaw_var
        self.P[0:2, 2] = self.P[2, 0:2] = J * yaw_var
        self.t_s, self.initialized = t_s, True
        self.bias_bound_m = p.bias_bound_rtk_fixed_m if bias_bound_m is None else bias_bound_m
        self.last_gnss_s = t_s
        self._history_t.clear()
        self._history.clear()
        self._corrections = [0.0, 0.0, 0.0]
        self._remember()

    def predict(self, t_s, speed_mps, yaw_rate_radps):
        """Propagate to t_s with the measured speed and yaw rate held since the last call."""
        if not self.initialized:
            return
        dt = t_s - self.t_s
        if dt <= 0.0:
            return
        p = self.params
        x, y, yaw, bias, scale, slip = self.x.tolist()
        v = speed_mps * scale
        w = yaw_rate_radps - bias
        turn = 1.0 / (G_MPS2 * p.tyre_cornering_coefficient_1prad)       # nominal slip per lateral accel
        course = yaw + 0.5 * w * dt - v * w * turn + slip
        c, s = math.cos(course), math.sin(course)
        self.x[0] = x + v * c * dt
        self.x[1] = y + v * s * dt
        self.x[2] = math.remainder(yaw + w * dt, 2.0 * math.pi)
        decay = math.exp(-dt / p.slip_time_constant_s)
        self.x[5] = slip * decay
        F = self._F
        F[0, 2], F[1, 2] = -v * s * dt, v * c * dt
        dcourse_dbias = -0.5 * dt + v * turn
        F[0, 3], F[1, 3] = -v * s * dt * dcourse_dbias, v * c * dt * dcourse_dbias
        F[2, 3] = -dt
        dcourse_dscale = -speed_mps * w * turn
        F[0, 4] = speed_mps * c * dt - v * s * dt * dcourse_dscale
        F[1, 4] = speed_mps * s * dt + v * c * dt * dcourse_dscale
        F[0, 5], F[1, 5], F[5, 5] = -v * s * dt, v * c * dt, decay
        # Q = G diag(speed_var, gyro_var) G^T with G = [[c dt scale, 0], [s dt scale, 0], [0, dt], 0, 0, 0]
        gx, gy = c * dt * scale, s * dt * scale
        speed_var = p.speed_sigma_mps ** 2 + (p.speed_relative_sigma * speed_mps) ** 2
        Q = np.zeros((N_STATES, N_STATES))
        Q[0, 0], Q[0, 1] = gx * speed_var * gx, gx * speed_var * gy
        Q[1, 0], Q[1, 1] = gy * speed_var * gx, gy * speed_var * gy
        Q[2, 2] = dt * p.gyro_sigma_radps ** 2 * dt
        Q[3, 3] = p.gyro_bias_walk_radps2 ** 2 * dt
        Q[4, 4] = p.scale_walk ** 2 * dt
        Q[5, 5] = p.slip_sigma_rad ** 2 * (1.0 - decay * decay)
        self.P = F @ self.P @ F.T + Q
        self.t_s = t_s
        self._remember()

    def _remember(self):
        cx, cy, cyaw = self._corrections
        x, y, yaw = self.x[:3].tolist()
        self._history_t.append(self.t_s)
        self._history.append((x - cx, y - cy, yaw - cyaw))
        old = bisect_left(self._history_t, self.t_s - self.params.history_s)
        if old:
            del self._history_t[:old], self._history[:old]

    def _shift_history(self, before):
        """A correction moves the stored states too, so only motion counts as motion: they are read
        back with the sum of corrections added, so adding this one to the sum moves them all."""
        c = self._corrections
        c[0] += float(self.x[0] - before[0])
        c[1] += float(self.x[1] - before[1])
        c[2] = math.remainder(c[2] + float(self.x[2] - before[2]), 2.0 * math.pi)

    def _motion_since(self, t_s):
        """(dx, dy, dyaw) of the filter state from time t_s to now (zero when t_s is not in the past)."""
        if t_s is None or t_s >= self.t_s or not self._history_t:
            return 0.0, 0.0, 0.0
        if math.isnan(t_s):
            return math.nan, math.nan, math.nan         # no time, no motion: the gate refuses the measurement
        times = self._history_t
        i = bisect_left(times, t_s)
        if i == 0:
            hx, hy, hyaw = self._history[0]
        else:                                   # interpolate between the states around t_s
            j = min(i, len(times) - 1)
            t0, (x0, y0, yaw0) = times[i - 1], self._history[i - 1]
            t1, (x1, y1, yaw1) = times[j], self._history[j]
            w = (t_s - t0) / (t1 - t0) if t1 > t0 else 0.0
            hx, hy = x0 + w * (x1 - x0), y0 + w * (y1 - y0)
            hyaw = yaw0 + w * math.remainder(yaw1 - yaw0, 2.0 * math.pi)
        cx, cy, cyaw = self._corrections
        return (float(self.x[0]) - (hx + cx), float(self.x[1]) - (hy + cy),
                math.remainder(float(self.x[2]) - (hyaw + cyaw), 2.0 * math.pi))

    # ---- measurement updates ------------------------------------------------------------
    def _correct(self, sensor, innovation, H, R, gate, bias_bound_m=None):
        """Gate, then a Joseph-form update of a 2-D measurement (innovation (2,), H (2, N_STATES), R (2, 2));
        True when used. With a bias bound, the measurement is a position source and b moves toward it
        by its share of the gain."""
        PHt = self.P @ H.T
        S = H @ PHt + R
        (a, b), (c, d) = S.tolist()
        det = a * d - b * c
        e0, e1 = innovation.tolist()
        # innovation^T S^-1 innovation with S^-1 = [[d, -b], [-c, a]] / det; no number unless S is invertible
        d2 = (e0 * (d * e0 - b * e1) + e1 * (a * e1 - c * e0)) / det if det > 0.0 else math.nan
        if self._gated_out(sensor, d2, gate):
            return False
        K = PHt @ np.array([[d, -b], [-c, a]]) / det
        # Joseph form: (I - K H) P (I - K H)^T + K R K^T = P - K H P - P H^T K^T + K S K^T, written
        # without assuming P symmetric to the last bit, so it damps rounding asymmetry as the product does
        P = self.P - K @ (H @ self.P) - PHt @ K.T + K @ S @ K.T
        return self._use(sensor, K @ innovation, P, float(np.trace(K[:2] @ H[:, :2])) / 2.0, bias_bound_m)

    def _correct_scalar(self, sensor, innovation, h, variance, gate, bias_bound_m=None):
        """_correct for a scalar measurement with Jacobian row h (5,): S is a number, so K = P h / S
        needs no inverse and the Joseph form is a sum of outer products."""
        Ph = self.P @ h
        S = float(h @ Ph) + variance
        d2 = innovation * innovation / S if S > 0.0 else math.nan
        if self._gated_out(sensor, d2, gate):
            return False
        K = Ph / S
        # Joseph form: (I - K h^T) P (I - K h^T)^T + K r K^T = P - K h^T P - P h K^T + S K K^T, written
        # without assuming P symmetric to the last bit, so it damps rounding asymmetry as the product does
        Kc = K[:, None]                                 # outer products by broadcasting (cheaper than np.outer)
        P = self.P - Kc * (h @ self.P) - Ph[:, None] * K + S * (Kc * K)
        return self._use(sensor, K * innovation, P, (K[0] * h[0] + K[1] * h[1]) / 2.0, bias_bound_m)

    def _gated_out(self, sensor, d2, gate):
        """True (counted, with the reason) when the squared Mahalanobis distance fails the gate."""
        if math.isfinite(d2) and d2 <= gate:
            return False
        self.counters.count(sensor, False)
        self.last_rejection = f'{sensor} gated out: Mahalanobis distance^2 {d2:.1f} > {gate:.1f}'
        return True

    def _use(self, sensor, dx, P, gain_share, bias_bound_m):
        """Take an accepted correction: state, covariance, history, bias bound and counter; True."""
        before = self.x[:3].copy()
        self.x += dx
        self.x[2] = math.remainder(self.x[2], 2.0 * math.pi)
        self.P = P
        self._shift_history(before)
        if bias_bound_m is not None:
            share = min(max(gain_share, 0.0), 1.0)
            self.bias_bound_m += share * (bias_bound_m - self.bias_bound_m)
        self.counters.count(sensor, True)
        return True

    def _position(self, sensor, xy, cov, lever, t_s):
        """Innovation, Jacobian and covariance of an antenna position fix moved to the filter time."""
        x, y, yaw = self.x[:3].tolist()
        ax, ay = _arm(yaw, lever)
        dx, dy, dyaw = self._motion_since(t_s)
        px, py = _arm(yaw - dyaw, lever)
        measured = np.asarray(xy, dtype=float) + np.array([dx, dy]) + np.array([ax - px, ay - py])
        H = np.array([[1.0, 0.0, -ay, 0.0, 0.0, 0.0], [0.0, 1.0, ax, 0.0, 0.0, 0.0]])
        return measured - np.array([x + ax, y + ay]), H, np.asarray(cov, dtype=float)

    def update_gnss(self, antenna_xy, covariance_2x2, t_s=None, bias_bound_m=None) -> bool:
        """Correct with a GNSS antenna fix stamped t_s (None: now); False (and counted) when gated out."""
        p = self.params
        innovation, H, R = self._position('gnss', antenna_xy, covariance_2x2, p.lever_arm_m, t_s)
        bound = p.bias_bound_rtk_fixed_m if bias_bound_m is None else bias_bound_m
        if self._correct('gnss', innovation, H, R, p.gate_chi2, bound):
            self.consecutive_rejections = 0
            self._rejected_offsets.clear()
            self.last_gnss_s = self.t_s
            return True
        self.consecutive_rejections += 1
        self._rejected_offsets.append(innovation)
        # only RTK-fixed fixes may re-anchor: a float or single fix (multipath) never drags the filter
        if self.consecutive_rejections >= p.reanchor_after and bound <= p.bias_bound_rtk_fixed_m:
            self._reanchor(R, bias_bound_m)
        return False

    def _reanchor(self, R, bias_bound_m):
        """Move the position onto the run of rejected fixes when their offsets from the prediction
        agree with each other (a steady offset, moving or not: the filter, not GNSS, has gone wrong).
        Otherwise keep waiting."""
        offsets = np.asarray(self._rejected_offsets)
        spread = float(np.max(np.linalg.norm(offsets - offsets.mean(axis=0), axis=1)))
        if spread > 4.0 * math.sqrt(max(R[0, 0], R[1, 1])) + 0.1:
            self.last_rejection += f'; rejected fixes disagree ({spread:.2f} m): not re-anchoring'
            return
        before = self.x.copy()
        lx, ly = self.params.lever_arm_m
        self.x[0:2] += offsets[-1]
        self.P[0:2, :] = 0.0
        self.P[:, 0:2] = 0.0
        self.P[0:2, 0:2] = R + (lx * lx + ly * ly) * self.P[2, 2] * np.eye(2)
        self._shift_history(before)
        self.bias_bound_m = self.params.bias_bound_rtk_fixed_m if bias_bound_m is None else bias_bound_m
        self.last_gnss_s = self.t_s
        self.consecutive_rejections = 0
        self._rejected_offsets.clear()
        self.last_rejection += f'; re-anchored on GNSS after {self.params.reanchor_after} rejected fixes'

    def update_heading(self, yaw_rad, variance, t_s=None) -> bool:
        """Correct yaw with a dual-antenna GNSS heading stamped t_s; False (and counted) when gated out."""
        innovation = math.remainder(yaw_rad + self._motion_since(t_s)[2] - self.x[2], 2.0 * math.pi)
        return self._correct_scalar('gnss_heading', innovation, _YAW_ROW, variance, self.params.gate_chi2_1d)

    def update_fiveg_fix(self, xy, covariance_2x2, t_s=None) -> bool:
        """Correct with a 5G network location fix of the modem antenna."""
        p = self.params
        innovation, H, R = self._position('fiveg_fix', xy, covariance_2x2, p.fiveg_lever_arm_m, t_s)
        return self._correct('fiveg_fix', innovation, H, R, p.gate_chi2, p.bias_bound_fiveg_m)

    def update_fiveg_range(self, site_xyz, range_m, variance, t_s=None) -> bool:
        """Correct with a time-of-arrival range from the modem antenna to a gNB site (x, y, z)."""
        p = self.params
        dx, dy, dyaw = self._motion_since(t_s)
        x, y, yaw = self.x[:3].tolist()
        ax, ay = _arm(yaw, p.fiveg_lever_arm_m)
        px, py = _arm(yaw - dyaw, p.fiveg_lever_arm_m)
        # the modem antenna at the stamp: base_link then, with the lever arm at the yaw of then
        ex = x + ax - dx - (ax - px) - float(site_xyz[0])
        ey = y + ay - dy - (ay - py) - float(site_xyz[1])
        dz = p.fiveg_antenna_height_m - site_xyz[2]
        predicted = math.sqrt(ex * ex + ey * ey + dz * dz)
        if predicted < 1.0:
            return False
        ux, uy = ex / predicted, ey / predicted             # d(range)/d(x, y)
        h = np.array([ux, uy, ux * -ay + uy * ax, 0.0, 0.0, 0.0])
        return self._correct_scalar('fiveg_range', range_m - predicted, h, variance, p.gate_chi2_1d,
                                    p.bias_bound_fiveg_m)

    def admit_bias(self, bound_m):
        """Before a more precise source takes over: the estimate may be off by the bias bound of the
        source it rested on (correlated error averaged as if white), so widen P by it."""
        self.P[0, 0] += bound_m ** 2
        self.P[1, 1] += bound_m ** 2

    def gnss_bias_bound(self, fix_type) -> float:
        """Bias over-bound of a GNSS fix of this type [m] (inf for a type that is no fix)."""
        p = self.params
        return {FIX_RTK_FIXED: p.bias_bound_rtk_fixed_m, FIX_RTK_FLOAT: p.bias_bound_rtk_float_m,
                FIX_SINGLE: p.bias_bound_single_m}.get(fix_type, math.inf)

    @property
    def gnss_fresh(self) -> bool:
        return self.t_s is not None and self.t_s - self.last_gnss_s <= self.params.gnss_timeout_s

    # ---- outputs ------------------------------------------------------------------------
    def pose_at(self, t_s, speed_mps, yaw_rate_radps):
        """(x, y, yaw) extrapolated to t_s without changing the filter."""
        x, y, yaw, bias, scale, slip = self.x.tolist()
        dt = max(0.0, t_s - self.t_s) if self.t_s is not None else 0.0
        w = yaw_rate_radps - bias
        v = speed_mps * scale
        course = yaw + 0.5 * w * dt - v * w / (G_MPS2 * self.params.tyre_cornering_coefficient_1prad) + slip
        return (x + v * math.cos(course) * dt, y + v * math.sin(course) * dt,
                math.remainder(yaw + w * dt, 2.0 * math.pi))

    @property
    def position_std_m(self) -> float:
        return math.sqrt(max(self.P[0, 0] + self.P[1, 1], 0.0))

    @property
    def yaw_std_rad(self) -> float:
        return math.sqrt(max(self.P[2, 2], 0.0))

    @property
    def protection_level_m(self) -> float:
        """Bound on the horizontal position error at the configured integrity risk [m]."""
        sigma_major = math.sqrt(max(float(np.linalg.eigvalsh(self.P[:2, :2]).max()), 0.0))
        return self.params.integrity_sigmas * sigma_major + self.bias_bound_m
