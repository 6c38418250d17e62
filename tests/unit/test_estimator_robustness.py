"""estimator robustness: late (stamped) GNSS fixes and headings, re-anchoring after a run of rejected
fixes, and a property test that no sequence of finite inputs breaks the covariance.

The filter is fed noise-free measurements of an exact trajectory (a straight line or a circular arc in
closed form), so every expectation below is about the filter's own arithmetic, not about sensor noise."""
import copy
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartgate_core.localization.estimator import EstimatorParams, PoseEstimator

PARAMS = EstimatorParams(tyre_cornering_coefficient_1prad=math.inf)    # the closed-form Track is kinematic: no tyre slip
ARM_M = PARAMS.lever_arm_m[0]           # 9.5 m ahead of base_link
FIX_SIGMA_M = 0.012
R_FIX = np.eye(2) * FIX_SIGMA_M ** 2
HEADING_VAR = 0.002 ** 2
PREDICT_DT_S = 0.02                     # 50 Hz IMU / odometry
FIX_EVERY = 5                           # 10 Hz GNSS


def assert_covariance_ok(P, tol=1e-9):
    assert np.all(np.isfinite(P))
    assert np.allclose(P, P.T, rtol=0.0, atol=tol * max(1.0, np.abs(P).max()))
    assert np.linalg.eigvalsh(0.5 * (P + P.T)).min() >= -tol


class Track:
    """Constant speed and yaw rate from (20, -10) heading yaw0, in closed form."""

    def __init__(self, speed_mps=8.0, yaw_rate_radps=0.0, yaw0=0.3):
        self.v, self.w, self.yaw0 = speed_mps, yaw_rate_radps, yaw0

    def pose(self, t):
        v, w, yaw0 = self.v, self.w, self.yaw0
        yaw = yaw0 + w * t
        if abs(w) < 1e-12:
            return 20.0 + v * t * math.cos(yaw0), -10.0 + v * t * math.sin(yaw0), yaw
        return 20.0 + v / w * (math.sin(yaw) - math.sin(yaw0)), -10.0 - v / w * (math.cos(yaw) - math.cos(yaw0)), yaw

    def antenna(self, t):
        x, y, yaw = self.pose(t)
        return x + ARM_M * math.cos(yaw), y + ARM_M * math.sin(yaw)

    def yaw(self, t):
        return math.remainder(self.pose(t)[2], 2.0 * math.pi)


def converged(path, seconds=4.0):
    """A filter started on the path at t=0 and fed timely exact fixes and headings at 10 Hz."""
    est = PoseEstimator(PARAMS)
    est.initialize(0.0, path.antenna(0.0), path.yaw(0.0), FIX_SIGMA_M)
    for k in range(1, round(seconds / PREDICT_DT_S) + 1):
        t = k * PREDICT_DT_S
        est.predict(t, path.v, path.w)
        if k % FIX_EVERY == 0:
            assert est.update_gnss(path.antenna(t), R_FIX)
            assert est.update_heading(path.yaw(t), HEADING_VAR)
    return est, t


def dead_reckon(est, path, t_from, seconds):
    t = t_from
    for _ in range(round(seconds / PREDICT_DT_S)):
        t += PREDICT_DT_S
        est.predict(t, path.v, path.w)
    return t


def position_error(est, path, t):
    x, y, _ = path.pose(t)
    return math.hypot(est.x[0] - x, est.x[1] - y)


# ---------------------------------------------------------------------------------------------- latency

@pytest.fixture(scope='module')
def straight_at_8():
    """Converged at 8 m/s, then 0.1 s of dead reckoning: filter time T, a fix due from T - 0.1 s."""
    path = Track(speed_mps=8.0)
    est, t = converged(path)
    t = dead_reckon(est, path, t, 0.1)
    assert position_error(est, path, t) < 0.002
    return path, est, t


def test_fix_stamped_100ms_ago_is_moved_forward_and_accepted(straight_at_8):
    path, base, t = straight_at_8
    est = copy.deepcopy(base)
    stamp = t - 0.1
    assert est.update_gnss(path.antenna(stamp), R_FIX, t_s=stamp) is True
    assert est.counters.rejected == {}
    assert est.consecutive_rejections == 0
    assert position_error(est, path, t) < 0.02
    assert abs(math.remainder(est.x[2] - path.yaw(t), 2 * math.pi)) < 1e-3
    assert_covariance_ok(est.P)


def test_same_fix_without_its_stamp_is_gated_out(straight_at_8):
    """0.8 m behind the filter's antenna: the Mahalanobis gate rejects it, which is what the stamp is for."""
    path, base, t = straight_at_8
    est = copy.deepcopy(base)
    x_before = est.x.copy()
    assert est.update_gnss(path.antenna(t - 0.1), R_FIX) is False
    assert est.counters.rejected == {'gnss': 1}
    assert 'Mahalanobis' in est.last_rejection
    assert np.array_equal(est.x, x_before)


def test_fix_stamped_now_or_in_the_future_is_not_moved(straight_at_8):
    path, base, t = straight_at_8
    for stamp in (t, t + 0.05):
        est = copy.deepcopy(base)
        assert est.update_gnss(path.antenna(t), R_FIX, t_s=stamp) is True
        assert position_error(est, path, t) < 0.005


def test_fix_stamped_between_two_predicts_is_interpolated(straight_at_8):
    """A stamp between two 20 ms predicts (T - 0.11 s): the history is interpolated, not snapped."""
    path, base, t = straight_at_8
    est = copy.deepcopy(base)
    stamp = t - 0.11
    assert est.update_gnss(path.antenna(stamp), R_FIX, t_s=stamp) is True
    assert position_error(est, path, t) < 0.005


def test_latency_compensation_while_turning():
    """On an arc (5 m/s, 0.1 rad/s) the lever arm turns too: a fix 0.2 s late is still accepted and
    leaves the pose on the truth."""
    path = Track(speed_mps=5.0, yaw_rate_radps=0.1)
    est, t = converged(path)
    t = dead_reckon(est, path, t, 0.2)
    late = copy.deepcopy(est)
    assert late.update_gnss(path.antenna(t - 0.2), R_FIX, t_s=t - 0.2) is True
    assert position_error(late, path, t) < 0.01
    assert est.update_gnss(path.antenna(t - 0.2), R_FIX) is False


def test_late_fixes_after_a_correction_are_all_accepted():
    """Started with a yaw error that puts base_link 0.3 m off across the track through the lever arm
    (inside the initial covariance), every fix 0.1 s late and exact: each fix is consistent with the
    truth, so none may be rejected and the error is gone after a few fixes."""
    path = Track(speed_mps=8.0)
    est = PoseEstimator(PARAMS)
    ax, ay = path.antenna(0.0)
    est.initialize(0.0, (ax, ay), path.yaw(0.0) + 0.3 / ARM_M, FIX_SIGMA_M)
    errors = []
    for k in range(1, 101):
        t = k * PREDICT_DT_S
        est.predict(t, path.v, path.w)
        if k % FIX_EVERY == 0:
            stamp = t - 0.1
            est.update_gnss(path.antenna(stamp), R_FIX, t_s=stamp)
            est.update_heading(path.yaw(stamp), HEADING_VAR, t_s=stamp)
            errors.append(position_error(est, path, t))
    assert est.counters.rejected == {}
    assert max(errors[3:]) < 0.01


# ---------------------------------------------------------------------------------------------- re-anchoring

def standstill_filter(offset_m=0.5):
    """Converged at standstill (tiny covariance), then a bad stretch leaves base_link offset_m east; 0.5 s
    of dead reckoning after it puts the offset state into the filter's history too, as a bad stretch of
    odometry would."""
    path = Track(speed_mps=0.0)
    est, t = converged(path, seconds=6.0)
    assert est.position_std_m < 0.01
    est.x[0] += offset_m
    t = dead_reckon(est, path, t, 0.5)
    return path, est, t


def test_run_of_rejected_fixes_reanchors_on_gnss():
    path, est, t = standstill_filter()
    truth_x, truth_y, _ = path.pose(t)
    n = PARAMS.reanchor_after
    used_before = est.counters.used['gnss']
    for i in range(1, n):
        t += 0.1
        est.predict(t, 0.0, 0.0)
        assert est.update_gnss(path.antenna(t), R_FIX) is False
        assert est.consecutive_rejections == i
        assert est.x[0] == pytest.approx(truth_x + 0.5, abs=1e-6)          # still locked out
        assert 're-anchor' not in est.last_rejection
    t += 0.1
    est.predict(t, 0.0, 0.0)
    assert est.update_gnss(path.antenna(t), R_FIX) is False                 # the n-th rejection ...
    assert math.hypot(est.x[0] - truth_x, est.x[1] - truth_y) < 0.03       # ... re-anchors on GNSS
    assert 're-anchored' in est.last_rejection
    assert est.consecutive_rejections == 0
    assert est.counters.rejected == {'gnss': n}
    assert_covariance_ok(est.P)
    np.linalg.cholesky(est.P)
    # GNSS is back in charge: the following fixes are accepted and hold the truth
    for _ in range(5):
        t += 0.1
        est.predict(t, 0.0, 0.0)
        assert est.update_gnss(path.antenna(t), R_FIX) is True
        assert_covariance_ok(est.P)
    assert est.counters.used['gnss'] == used_before + 5
    assert math.hypot(est.x[0] - truth_x, est.x[1] - truth_y) < 0.01


def test_an_accepted_fix_resets_the_rejection_run():
    path, est, t = standstill_filter()
    n = PARAMS.reanchor_after
    for _ in range(n - 1):
        est.update_gnss(path.antenna(t), R_FIX)
    assert est.consecutive_rejections == n - 1
    ax, ay = path.antenna(t)
    assert est.update_gnss((ax + 0.5, ay), R_FIX) is True                  # agrees with the (offset) filter
    assert est.consecutive_rejections == 0
    assert est.update_gnss(path.antenna(t), R_FIX) is False
    assert est.consecutive_rejections == 1
    assert 're-anchor' not in est.last_rejection


def test_late_fix_right_after_reanchoring_is_accepted():
    path, est, t = standstill_filter()
    for _ in range(PARAMS.reanchor_after):
        t += 0.1
        est.predict(t, 0.0, 0.0)
        stamp = t - 0.1
        assert est.update_gnss(path.antenna(stamp), R_FIX, t_s=stamp) is False
    assert 're-anchored' in est.last_rejection
    t += 0.1
    est.predict(t, 0.0, 0.0)
    assert est.update_gnss(path.antenna(t - 0.1), R_FIX, t_s=t - 0.1) is True


# ---------------------------------------------------------------------------------------------- heading latency

def test_heading_stamped_in_the_past_uses_the_yaw_change_since():
    """Turning at 0.1 rad/s, a heading measured 0.2 s ago is 0.02 rad behind: with its stamp it is
    accepted and leaves the yaw on the truth; without it, it is gated out."""
    path = Track(speed_mps=5.0, yaw_rate_radps=0.1)
    est, t = converged(path)
    t = dead_reckon(est, path, t, 0.2)
    yaw_now = path.yaw(t)
    assert abs(est.x[2] - yaw_now) < 1e-4
    stamped = copy.deepcopy(est)
    assert stamped.update_heading(path.yaw(t - 0.2), HEADING_VAR, t_s=t - 0.2) is True
    assert abs(math.remainder(stamped.x[2] - yaw_now, 2 * math.pi)) < 2e-4
    assert stamped.counters.rejected == {}
    assert_covariance_ok(stamped.P)
    unstamped = copy.deepcopy(est)
    assert unstamped.update_heading(path.yaw(t - 0.2), HEADING_VAR) is False
    assert unstamped.counters.rejected == {'gnss_heading': 1}


def test_heading_stamp_across_the_pi_wrap():
    """Turning left through +pi: the stamped heading (just below pi) and the filter yaw (just above -pi)
    are 0.02 rad apart, not 2 pi."""
    path = Track(speed_mps=5.0, yaw_rate_radps=0.1, yaw0=math.pi - 0.41)
    est, t = converged(path)
    t = dead_reckon(est, path, t, 0.2)
    assert path.yaw(t - 0.2) > 0.0 > path.yaw(t)                           # the wrap lies in between
    assert est.update_heading(path.yaw(t - 0.2), HEADING_VAR, t_s=t - 0.2) is True
    assert abs(math.remainder(est.x[2] - path.yaw(t), 2 * math.pi)) < 2e-4


# ---------------------------------------------------------------------------------------------- property test

finite = dict(allow_nan=False, allow_infinity=False)
predict_op = st.tuples(st.just('predict'), st.floats(0.001, 0.5, **finite), st.floats(0.0, 10.0, **finite),
                       st.floats(-0.3, 0.3, **finite))
gnss_op = st.tuples(st.just('gnss'), st.floats(-5.0, 5.0, **finite), st.floats(-5.0, 5.0, **finite),
                    st.floats(1e-6, 1.0, **finite), st.floats(1e-6, 1.0, **finite),
                    st.one_of(st.none(), st.floats(-0.5, 3.0, **finite)))
heading_op = st.tuples(st.just('heading'), st.floats(-0.5, 0.5, **finite), st.floats(1e-6, 1.0, **finite),
                       st.one_of(st.none(), st.floats(-0.5, 3.0, **finite)))


@settings(max_examples=50, deadline=None)
@given(yaw0=st.floats(-math.pi, math.pi, **finite), sigma=st.floats(1e-3, 1.0, **finite),
       ops=st.lists(st.one_of(predict_op, gnss_op, heading_op), min_size=1, max_size=60))
def test_any_finite_input_sequence_keeps_the_filter_sane(yaw0, sigma, ops):
    """Fixes within 5 m of the filter's antenna, headings within 0.5 rad, stamps up to 3 s in the past
    (beyond the history) or in the future: never NaN, P symmetric with no negative eigenvalue."""
    est = PoseEstimator(PARAMS)
    est.initialize(0.0, (100.0, -50.0), yaw0, sigma)
    t = 0.0
    for op in ops:
        if op[0] == 'predict':
            _, dt, speed, yaw_rate = op
            t += dt
            est.predict(t, speed, yaw_rate)
            assert est.t_s == t
        elif op[0] == 'gnss':
            _, ex, ey, vx, vy, lag = op
            x, y, yaw = est.x[:3]
            fix = (x + ARM_M * math.cos(yaw) + ex, y + ARM_M * math.sin(yaw) + ey)
            est.update_gnss(fix, np.diag([vx, vy]), t_s=None if lag is None else t - lag)
        else:
            _, err, var, lag = op
            est.update_heading(est.x[2] + err, var, t_s=None if lag is None else t - lag)
        assert np.all(np.isfinite(est.x))
        assert -math.pi <= est.x[2] <= math.pi
        assert_covariance_ok(est.P)
    assert est.consecutive_rejections < PARAMS.reanchor_after
    assert sum(est.counters.used.values()) + sum(est.counters.rejected.values()) == \
        sum(op[0] != 'predict' for op in ops)
