"""estimator cost paths: the scalar update (5G ranges, heading: K = P h / S, no inverse), the 2-D update with a
closed-form 2x2 inverse (GNSS, 5G fix) and the history kept relative to the running sum of corrections
compute what a textbook EKF computes. Each is checked, to 1e-9, against a straightforward numpy reference
written here (S = H P H^T + R, K = P H^T S^-1, Joseph form) on seeded random states and measurements,
accepted and gated out.

How fast they are is measured by `smartgate bench localization` (update_cost_us), not asserted here: a
timing limit on a shared machine would make a test that fails at random."""
import math

import numpy as np
import pytest

from smartgate_core.localization.estimator import N_STATES, EstimatorParams, PoseEstimator

PARAMS = EstimatorParams()
SITE = (180.0, -240.0, 25.0)            # a gNB (x, y, z) [m]
STATE_SCALES = np.array([0.3, 0.3, 0.01, 1e-3, 5e-3, 3e-3])    # x, y [m], yaw [rad], bias [rad/s], scale, slip [rad]
TOL = 1e-9
KINDS = ('fiveg_range', 'gnss_heading', 'gnss', 'fiveg_fix')
H_YAW = np.eye(N_STATES)[2:3]
LEVERS = {'gnss': PARAMS.lever_arm_m, 'fiveg_fix': PARAMS.fiveg_lever_arm_m}
NOW = (None, (0.0, 0.0, 0.0))           # stamp and motion of a measurement made at the filter time


def textbook_update(x, P, innovation, H, R):
    """(x, P, squared Mahalanobis distance, gain share of the position) of one Joseph-form EKF update."""
    S = H @ P @ H.T + R
    S_inv = np.linalg.inv(S)
    K = P @ H.T @ S_inv
    x = x + K @ innovation
    x[2] = math.remainder(x[2], 2.0 * math.pi)
    A = np.eye(len(x)) - K @ H
    share = float(np.clip(np.trace((K @ H)[:2, :2]) / 2.0, 0.0, 1.0))
    return x, A @ P @ A.T + K @ R @ K.T, float(innovation @ S_inv @ innovation), share


def arm(yaw, lever):
    return np.array([math.cos(yaw) * lever[0] - math.sin(yaw) * lever[1],
                     math.sin(yaw) * lever[0] + math.cos(yaw) * lever[1]])


def range_model(x, motion=(0.0, 0.0, 0.0)):
    """Predicted range from the modem antenna at base_link x - motion (the yaw of then for the lever arm)
    and its Jacobian row, linearised at the current yaw."""
    dx, dy, dyaw = motion
    ue = x[:2] - (dx, dy) + arm(x[2] - dyaw, PARAMS.fiveg_lever_arm_m)
    delta = ue - SITE[:2]
    predicted = math.sqrt(delta @ delta + (PARAMS.fiveg_antenna_height_m - SITE[2]) ** 2)
    u = delta / predicted
    a = arm(x[2], PARAMS.fiveg_lever_arm_m)
    return predicted, np.array([[u[0], u[1], -u[0] * a[1] + u[1] * a[0]] + [0.0] * (N_STATES - 3)])


def position_model(x, lever, motion=(0.0, 0.0, 0.0)):
    """Antenna position of base_link x - motion (the yaw of then for the lever arm) and its Jacobian."""
    dx, dy, dyaw = motion
    a = arm(x[2], lever)
    rows = np.zeros((2, N_STATES))
    rows[0, 0], rows[1, 1], rows[0, 2], rows[1, 2] = 1.0, 1.0, -a[1], a[0]
    return x[:2] - (dx, dy) + arm(x[2] - dyaw, lever), rows


def random_estimator(rng):
    """An initialized estimator set to a random state and a random covariance (symmetric positive definite,
    correlated, at the scales of a running filter) and a random bias bound."""
    est = PoseEstimator(PARAMS)
    est.initialize(0.0, (0.0, 0.0), 0.0, 0.05)
    est.x[:] = [rng.uniform(-300.0, 300.0), rng.uniform(-300.0, 300.0), rng.uniform(-math.pi, math.pi),
                rng.normal(0.0, 1e-3), 1.0 + rng.normal(0.0, 0.01), rng.normal(0.0, 3e-3)]
    A = rng.normal(size=(N_STATES, N_STATES)) * STATE_SCALES[:, None]
    est.P = A @ A.T + np.diag(STATE_SCALES ** 2) * 0.1
    est.bias_bound_m = rng.uniform(0.03, 1.0)
    return est


def random_cov_2x2(rng, sigma_m):
    B = rng.normal(size=(2, 2)) * sigma_m
    return B @ B.T + np.eye(2) * sigma_m ** 2


def measurement(rng, est, kind):
    """(stamped, innovation, R, bias bound of the source) of a random measurement of `kind`, the innovation
    about one sigma of S. stamped(stamp, motion) gives the Jacobian H and apply(innovation), which feeds the
    estimator the measurement with that innovation from the vehicle moved back by `motion` (dx, dy, dyaw),
    stamped `stamp` (None: now)."""
    x, P = est.x.copy(), est.P

    def stamped(stamp, motion):
        if kind == 'fiveg_range':
            predicted, H = range_model(x, motion=motion)
            return H, lambda e: est.update_fiveg_range(SITE, predicted + e[0], R[0, 0], stamp)
        if kind == 'gnss_heading':
            return H_YAW, lambda e: est.update_heading(x[2] - motion[2] + e[0], R[0, 0], stamp)
        predicted, H = position_model(x, LEVERS[kind], motion)
        if kind == 'gnss':
            return H, lambda e: est.update_gnss(predicted + e, R, stamp, bound)
        return H, lambda e: est.update_fiveg_fix(predicted + e, R, stamp)

    R, bound = {'fiveg_range': (np.array([[rng.uniform(0.1, 1.0) ** 2]]), PARAMS.bias_bound_fiveg_m),
                'gnss_heading': (np.array([[rng.uniform(0.001, 0.01) ** 2]]), None),
                'gnss': (random_cov_2x2(rng, 0.02), 0.25),
                'fiveg_fix': (random_cov_2x2(rng, 0.8), PARAMS.bias_bound_fiveg_m)}[kind]
    H, _ = stamped(None, (0.0, 0.0, 0.0))
    e = np.linalg.cholesky(H @ P @ H.T + R) @ rng.normal(size=len(R))
    return stamped, e, R, bound


def gate(e):
    return PARAMS.gate_chi2_1d if len(e) == 1 else PARAMS.gate_chi2


def assert_is_reference(est, x_ref, P_ref):
    np.testing.assert_allclose(est.x, x_ref, rtol=0.0, atol=TOL)
    np.testing.assert_allclose(est.P, P_ref, rtol=0.0, atol=TOL)


@pytest.mark.parametrize('kind', KINDS)
def test_update_is_the_textbook_joseph_form_update(kind):
    """20 seeded random states and measurements per kind: x, P and the bias bound as the reference has them
    (the few that the reference gates out are refused too)."""
    rng = np.random.default_rng(20240611 + KINDS.index(kind))
    accepted = 0
    for _ in range(20):
        est = random_estimator(rng)
        stamped, e, R, source_bound = measurement(rng, est, kind)
        H, apply = stamped(*NOW)
        x_ref, P_ref, d2, share = textbook_update(est.x.copy(), est.P.copy(), e, H, R)
        b0 = est.bias_bound_m
        assert apply(e) is (d2 <= gate(e))
        if d2 > gate(e):
            continue
        accepted += 1
        assert_is_reference(est, x_ref, P_ref)
        expected_bound = b0 if source_bound is None else b0 + share * (source_bound - b0)
        assert est.bias_bound_m == pytest.approx(expected_bound, abs=TOL)
        assert est.counters.used == {kind: 1} and est.counters.rejected == {}
    assert accepted >= 15


@pytest.mark.parametrize('kind', KINDS)
def test_gated_out_update_changes_nothing_and_reports_the_reference_distance(kind):
    """Measurements 20 sigma off: refused, counted once, state untouched, and the reason quotes the squared
    Mahalanobis distance the reference computes."""
    rng = np.random.default_rng(20240711 + KINDS.index(kind))
    for _ in range(5):
        est = random_estimator(rng)
        stamped, e, R, _ = measurement(rng, est, kind)
        H, apply = stamped(*NOW)
        x0, P0, b0 = est.x.copy(), est.P.copy(), est.bias_bound_m
        e_far = e * 20.0 / math.sqrt(textbook_update(x0, P0, e, H, R)[2])
        d2 = textbook_update(x0, P0, e_far, H, R)[2]
        assert d2 == pytest.approx(400.0)
        assert apply(e_far) is False
        assert est.counters.rejected == {kind: 1} and est.counters.used == {}
        assert np.array_equal(est.x, x0) and np.array_equal(est.P, P0) and est.bias_bound_m == b0
        assert f'Mahalanobis distance^2 {d2:.1f}' in est.last_rejection


@pytest.mark.parametrize('kind', KINDS)
def test_late_measurement_is_moved_by_the_motion_alone_not_by_the_corrections(kind):
    """Driving an arc with predicts at 50 Hz and corrections at 10 Hz (they move the state, and with it the
    stored history, but they are no motion), a measurement stamped 0.2 s back is moved forward by the sum
    of the predict steps since its stamp: the update is the reference one for the vehicle there."""
    rng = np.random.default_rng(20240811 + KINDS.index(kind))
    est = PoseEstimator(PARAMS)
    est.initialize(0.0, (50.0, 20.0), 0.4, 0.05)
    steps = []                              # (t, dx, dy, dyaw) of each predict
    for k in range(1, 101):
        before = est.x[:3].copy()
        est.predict(k * 0.02, 8.0, 0.05)
        step = est.x[:3] - before
        steps.append((est.t_s, step[0], step[1], math.remainder(step[2], 2.0 * math.pi)))
        if k % 5 == 0:
            predicted, _ = position_model(est.x, PARAMS.lever_arm_m)
            assert est.update_gnss(predicted + rng.normal(0.0, 0.02, 2), np.eye(2) * 0.02 ** 2)
            assert est.update_fiveg_range(SITE, range_model(est.x)[0] + rng.normal(0.0, 0.3), 0.3 ** 2)
    stamp = steps[-11][0]                   # the 90th predict: 0.2 s before the filter time
    motion = tuple(np.sum([s[1:] for s in steps[-10:]], axis=0))
    stamped, e, R, _ = measurement(rng, est, kind)
    H, apply = stamped(stamp, motion)
    x_ref, P_ref, d2, _ = textbook_update(est.x.copy(), est.P.copy(), e, H, R)
    used = est.counters.used.get(kind, 0)
    assert d2 <= gate(e)
    assert apply(e) is True
    assert est.counters.used[kind] == used + 1
    assert_is_reference(est, x_ref, P_ref)
