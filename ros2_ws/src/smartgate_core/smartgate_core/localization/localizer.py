"""The localization front end: turns timestamped sensor readings into estimator calls, initializes
the filter, rejects and counts what cannot be used, and says how far the pose can be trusted.

The ROS node only converts messages into these calls; the closed-loop simulator and the benchmark
make the very same calls.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..params import doc
from .estimator import FIX_NONE, FIX_RTK_FIXED, FIX_RTK_FLOAT, FIX_SINGLE, EstimatorParams, PoseEstimator

MODE_INITIALIZING, MODE_RTK_FIXED, MODE_RTK_FLOAT, MODE_GNSS_SINGLE = 0, 1, 2, 3
MODE_RADIO_AIDED, MODE_DEAD_RECKONING, MODE_LOST = 4, 5, 6        # as LocalizationStatus.MODE_*
FIX_MODES = {FIX_RTK_FIXED: MODE_RTK_FIXED, FIX_RTK_FLOAT: MODE_RTK_FLOAT, FIX_SINGLE: MODE_GNSS_SINGLE}
SENSORS = ('gnss', 'gnss_heading', 'fiveg_fix', 'fiveg_range', 'odometry', 'imu')


@dataclass(frozen=True)
class LocalizerParams:
    lost_protection_level_m: float = doc(2.0, 'protection level beyond which the pose is LOST [m]')
    radio_timeout_s: float = doc(2.0, 'without an accepted 5G measurement for this long: dead reckoning [s]')
    max_future_stamp_s: float = doc(0.5, 'measurements stamped further ahead of the filter are rejected [s]')
    max_past_stamp_s: float = doc(1.0, 'measurements stamped further behind the filter are rejected [s]')
    max_speed_mps: float = doc(30.0, 'a wheel speed beyond this is not plausible [m/s]')
    float_correlation_s: float = doc(2.5, 'RTK-float fixes within this time count as one: their errors wander '
                                          'slowly, so each is weighted by its share [s]')


def _close(x, y):
    """np.isclose(x, y) with its default tolerances (rtol 1e-5, atol 1e-8), for two floats."""
    return x == y or (abs(x - y) <= 1e-8 + 1e-5 * abs(y) and math.isfinite(y))


def _positive_definite(cov):
    """np.allclose(cov, cov.T) and the symmetric part positive definite, for a 2x2 covariance.

    allclose and eigvalsh cost tens of microseconds per fix, so allclose is written out, and a matrix
    far from singular (a, d > 0 and the determinant of the symmetric part above 1e-9 (a + d)^2, so its
    smaller eigenvalue exceeds 1e-9 (a + d), far above eigvalsh's rounding) needs no eigvalsh: the
    answer is eigvalsh's for every input."""
    if cov.shape != (2, 2):
        return False
    (a, b), (c, d) = cov.tolist()
    if not (_close(a, a) and _close(b, c) and _close(c, b) and _close(d, d)):
        return False
    s = 0.5 * (b + c)
    if a > 0.0 and d > 0.0 and a * d - s * s > 1e-9 * (a + d) * (a + d):
        return True
    return bool(np.linalg.eigvalsh(0.5 * (cov + cov.T)).min() > 0.0)


class Localizer:
    """One vehicle's localization: feed readings in any order of arrival; read pose, mode, PL."""

    def __init__(self, params: LocalizerParams, estimator: EstimatorParams, gnb_sites=None):
        self.params = params
        self.estimator = PoseEstimator(estimator)
        self.gnb_sites = dict(gnb_sites or {})
        self.speed_mps = 0.0
        self.yaw_rate_radps = 0.0
        self.ahrs_yaw = None
        self.fix_type = FIX_NONE
        self.last_radio_s = -math.inf
        self.rejected = {s: 0 for s in SENSORS}
        self.used = {s: 0 for s in SENSORS}      # the filter counts the corrections; these the rest
        self._last_imu_s = None
        self.last_problem = ''
        self._admitted = False      # P already widened for the fix type now taking over
        self._last_fix_s = -math.inf

    # ---- inputs: each returns True when the reading was used ----------------------------------
    def reject(self, sensor, why):
        """Count a reading that cannot be used, and remember why."""
        self.rejected[sensor] += 1
        self.last_problem = f'rejected {sensor}: {why}'
        return False

    def _time_ok(self, sensor, t_s, now_s=None):
        if not math.isfinite(t_s):
            return self.reject(sensor, 'stamp is not finite')
        ref = self.estimator.t_s if self.estimator.t_s is not None else (now_s if now_s is not None
                                                                         else self._last_imu_s)
        if ref is None:
            return True
        if t_s > ref + self.params.max_future_stamp_s and (now_s is None or t_s > now_s + self.params.max_future_stamp_s):
            return self.reject(sensor, f'stamp {t_s:.3f} s lies {t_s - ref:.3f} s in the future')
        if t_s < ref - self.params.max_past_stamp_s:
            return self.reject(sensor, f'stamp {t_s:.3f} s is {ref - t_s:.3f} s older than the filter')
        return True

    def imu(self, t_s, yaw_rate_radps, ahrs_yaw_rad=None):
        if not (math.isfinite(yaw_rate_radps) and abs(yaw_rate_radps) < 5.0):
            return self.reject('imu', f'yaw rate {yaw_rate_radps} is not plausible')
        if ahrs_yaw_rad is not None and not math.isfinite(ahrs_yaw_rad):
            return self.reject('imu', 'orientation is not finite')
        if ahrs_yaw_rad is not None and abs(ahrs_yaw_rad) > 2.0 * math.pi:
            return self.reject('imu', f'orientation yaw {ahrs_yaw_rad} rad is not an angle')
        if not self._time_ok('imu', t_s):
            return False
        self.yaw_rate_radps = yaw_rate_radps
        if ahrs_yaw_rad is not None:
            self.ahrs_yaw = ahrs_yaw_rad
        self._last_imu_s = t_s
        self.estimator.predict(t_s, self.speed_mps, yaw_rate_radps)
        self.used['imu'] += 1
        return True

    def odometry(self, t_s, speed_mps):
        if not (math.isfinite(speed_mps) and abs(speed_mps) <= self.params.max_speed_mps):
            return self.reject('odometry', f'speed {speed_mps} is not plausible')
        if not self._time_ok('odometry', t_s):
            return False
        self.estimator.predict(t_s, self.speed_mps, self.yaw_rate_radps)
        self.speed_mps = speed_mps
        self.used['odometry'] += 1
        return True

    def gnss(self, t_s, fix_type, antenna_xy, covariance_2x2):
        """A GNSS antenna fix in the map frame with the receiver's covariance."""
        if fix_type not in FIX_MODES:
            self.fix_type = FIX_NONE
            return self.reject('gnss', f'fix type {fix_type!r} is not a fix')
        cov = np.asarray(covariance_2x2, dtype=float)
        if not (np.isfinite(antenna_xy).all() and np.isfinite(cov).all()):
            return self.reject('gnss', 'non-finite position or covariance')
        if not _positive_definite(cov):
            return self.reject('gnss', 'covariance is not symmetric positive definite')
        if not self._time_ok('gnss', t_s):
            return False
        est = self.estimator
        self.fix_type = fix_type
        interval_s, self._last_fix_s = t_s - self._last_fix_s, t_s
        if fix_type == FIX_RTK_FLOAT:
            # Fed at 10 Hz as if independent, a float solution's slowly wandering error would pull the
            # estimate along with it (and shrink P); counted at its share, odometry and IMU hold the line.
            cov = cov * max(1.0, self.params.float_correlation_s / max(interval_s, 1e-3))
        if not est.initialized:
            if self.ahrs_yaw is None:
                return False                       # a first IMU sample seeds the heading
            est.initialize(t_s, antenna_xy, self.ahrs_yaw, math.sqrt(cov[0, 0]), est.gnss_bias_bound(fix_type))
            self.used['gnss'] += 1
            return True
        est.predict(t_s, self.speed_mps, self.yaw_rate_radps)
        bound = est.gnss_bias_bound(fix_type)
        if fix_type == FIX_RTK_FIXED and bound < est.bias_bound_m and not self._admitted:
            est.admit_bias(est.bias_bound_m)               # RTK fixed again after float, single or 5G
            self._admitted = True
        if not est.update_gnss(antenna_xy, cov, t_s, bound):
            self.last_problem = est.last_rejection
            return False
        self._admitted = False
        return True

    def gnss_heading(self, t_s, yaw_rad, variance):
        if not (math.isfinite(yaw_rad) and math.isfinite(variance) and 0.0 < variance < 1.0):
            return self.reject('gnss_heading', f'heading {yaw_rad} / variance {variance} unusable')
        if not self._time_ok('gnss_heading', t_s) or not self.estimator.initialized:
            return False
        self.estimator.predict(t_s, self.speed_mps, self.yaw_rate_radps)
        if not self.estimator.update_heading(yaw_rad, variance, t_s):
            self.last_problem = self.estimator.last_rejection
            return False
        return True

    def fiveg_fix(self, t_s, xy, covariance_2x2):
        cov = np.asarray(covariance_2x2, dtype=float)
        if not (np.isfinite(xy).all() and np.isfinite(cov).all()) or not _positive_definite(cov):
            return self.reject('fiveg_fix', 'non-finite position or covariance not symmetric positive definite')
        if not self._time_ok('fiveg_fix', t_s) or not self.estimator.initialized:
            return False
        self.estimator.predict(t_s, self.speed_mps, self.yaw_rate_radps)
        if self.estimator.update_fiveg_fix(xy, cov, t_s):
            self.last_radio_s = t_s
            return True
        self.last_problem = self.estimator.last_rejection
        return False

    def fiveg_ranges(self, t_s, site_ids, ranges_m, sigma_m):
        """Time-of-arrival ranges to gNB sites named by id; an unknown id is rejected, not guessed."""
        if not (math.isfinite(sigma_m) and 0.0 < sigma_m < 1e3):
            return self.reject('fiveg_range', f'range sigma {sigma_m} unusable')
        if not self._time_ok('fiveg_range', t_s) or not self.estimator.initialized:
            return False
        self.estimator.predict(t_s, self.speed_mps, self.yaw_rate_radps)
        used = False
        for site, r in zip(site_ids, ranges_m):
            if site not in self.gnb_sites:
                self.reject('fiveg_range', f"gNB '{site}' is not in the configured sites")
            elif not (math.isfinite(r) and 0.0 < r < 1e5):
                self.reject('fiveg_range', f"range {r} to '{site}' unusable")
            elif self.estimator.update_fiveg_range(self.gnb_sites[site], r, sigma_m ** 2, t_s):
                used = True
            else:
                self.last_problem = self.estimator.last_rejection
        if used:
            self.last_radio_s = t_s
        return used

    # ---- outputs ------------------------------------------------------------------------
    def counters(self):
        """{sensor: (used, rejected)} with the filter's gate rejections included."""
        c = self.estimator.counters
        return {s: (c.used.get(s, 0) + self.used[s], self.rejected[s] + c.rejected.get(s, 0))
                for s in SENSORS}

    def mode(self):
        est = self.estimator
        if not est.initialized:
            return MODE_INITIALIZING
        if est.protection_level_m > self.params.lost_protection_level_m:
            return MODE_LOST
        if est.gnss_fresh and self.fix_type in FIX_MODES:
            return FIX_MODES[self.fix_type]
        if est.t_s - self.last_radio_s <= self.params.radio_timeout_s:
            return MODE_RADIO_AIDED
        return MODE_DEAD_RECKONING
