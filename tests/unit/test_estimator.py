"""estimator: EKF over [x, y, yaw, gyro bias, odometry scale, side-slip] fed by the simulator's seeded sensor models, the way the
localization node feeds it (predict on each IMU sample; predict + GNSS fix + dual-antenna heading at 10 Hz)."""
import dataclasses
import math

import numpy as np
import pytest

from smartgate_core.localization.estimator import EstimatorParams, PoseEstimator
from smartgate_core.simulation.disturbances import DisturbanceParams
from smartgate_core.simulation.sensors import GnssParams, OdometryParams
from smartgate_core.simulation.vehicle import VehicleSimulator
from smartgate_core.driving.command import DriveCommand
from smartgate_core.simulation.vehicle_model import VehicleParams, VehicleState

DEMO_SEED = 1          # igv_01.seed in config/fleet.yaml
CALM = DisturbanceParams(crossfall=0.0, mean_wind_mps=(0.0, 0.0), gust_rate_hz=0.0)


def assert_covariance_ok(P):
    assert np.allclose(P, P.T, rtol=0.0, atol=1e-12 * np.abs(P).max())
    assert np.all(np.linalg.eigvalsh(0.5 * (P + P.T)) > 0.0)
    np.linalg.cholesky(P)


class Drive:
    """A straight drive of the simulated vehicle with the estimator in the loop."""

    def __init__(self, seed, speed_mps=5.0, yaw_rad=0.3, initial_yaw_error_rad=0.0, use_gnss=True,
                 use_heading=True, estimator_params=EstimatorParams(), **sim_kwargs):
        self.sim = VehicleSimulator(VehicleParams(), VehicleState(20.0, -10.0, yaw_rad), seed=seed, **sim_kwargs)
        self.est = PoseEstimator(estimator_params)
        self.speed_mps, self.yaw_error = speed_mps, initial_yaw_error_rad
        self.use_gnss, self.use_heading = use_gnss, use_heading
        self.odo, self.gyro = 0.0, 0.0
        self.log = []           # (t, position error [m], yaw error [rad]) whenever the filter is at time t

    def run(self, seconds, check_covariance=False):
        for _ in range(round(seconds * self.sim.rates.physics_hz)):
            out = self.sim.step(DriveCommand(self.speed_mps))
            t, est = out.t_s, self.est
            if out.odometry_speed_mps is not None:
                self.odo = out.odometry_speed_mps
            if out.imu is not None:
                self.gyro = out.imu.yaw_rate_radps
                est.predict(t, self.odo, self.gyro)
            if out.gnss is not None:
                fix = out.gnss
                if not est.initialized:      # coarse yaw: the truth plus the error under test
                    est.initialize(t, (fix.x_m, fix.y_m), out.truth.yaw_rad + self.yaw_error, fix.sigma_m)
                else:
                    if self.use_gnss:
                        est.predict(t, self.odo, self.gyro)
                        est.update_gnss((fix.x_m, fix.y_m), np.eye(2) * fix.sigma_m ** 2)
                    if self.use_heading:
                        est.predict(t, self.odo, self.gyro)
                        est.update_heading(fix.heading_rad, fix.heading_sigma_rad ** 2)
            if check_covariance and est.initialized:
                assert_covariance_ok(est.P)
            if est.initialized and est.t_s == pytest.approx(t, abs=1e-9):
                tr = out.truth
                self.log.append((t, math.hypot(est.x[0] - tr.x_m, est.x[1] - tr.y_m),
                                 math.remainder(est.x[2] - tr.yaw_rad, 2 * math.pi)))
        return np.array(self.log)


def test_converges_within_2cm_after_20s_of_straight_driving():
    """With the default sensor models (demo seed), the pose is within 2 cm of the truth from 15 s to 20 s
    and heading within 0.05 deg; every fix passes the gate."""
    drive = Drive(DEMO_SEED)
    log = drive.run(20.0)
    settled = log[log[:, 0] >= 15.0]
    assert log[-1, 0] == pytest.approx(20.0)
    assert settled[:, 1].max() < 0.02
    assert np.abs(settled[:, 2]).max() < math.radians(0.05)
    assert drive.est.counters.used == {'gnss': 199, 'gnss_heading': 199}
    assert drive.est.counters.rejected == {}
    assert drive.est.position_std_m < 0.02


@pytest.mark.parametrize('seed', [0, 2, 3])
def test_filter_error_is_millimetres_without_correlated_sensor_errors(seed):
    """The filter itself is precise: without the GNSS's slow wander (which it cannot tell from motion), the
    wheel-scale bias and slip, and the road's crossfall and gusts (so without a side-slip state to learn),
    it holds the pose within 1 cm for any seed."""
    drive = Drive(seed, gnss_params=GnssParams(walk_sigma_m=0.0),
                  odometry_params=OdometryParams(scale_error=0.0, slip_rate_hz=0.0), disturbance_params=CALM,
                  estimator_params=EstimatorParams(slip_sigma_rad=1e-6))
    log = drive.run(20.0)
    assert log[log[:, 0] >= 10.0, 1].max() < 0.01


@pytest.mark.parametrize('seed', [0, 2, 3])
def test_side_slip_is_learnt_on_a_crossfall(seed):
    """Driving straight across a 2 % crossfall the vehicle crabs (the rear axle runs outside its heading);
    the side-slip state learns it from the GNSS track against the dual-antenna heading, so the pose stays
    within 1.5 cm once it has (10 s on), and the learnt slip is within 1 mrad of the true one."""
    drive = Drive(seed, gnss_params=GnssParams(walk_sigma_m=0.0),
                  odometry_params=OdometryParams(scale_error=0.0, slip_rate_hz=0.0),
                  disturbance_params=dataclasses.replace(CALM, crossfall=0.02))
    log = drive.run(20.0)
    assert log[log[:, 0] >= 10.0, 1].max() < 0.015
    true_slip = drive.sim.model.state.lateral_speed_mps / drive.sim.model.state.speed_mps
    assert true_slip < -0.002                                   # downhill: to the right of the heading
    assert drive.est.x[5] == pytest.approx(true_slip, abs=1e-3)


def test_covariance_stays_symmetric_positive_definite():
    """P is symmetric positive definite after every predict and update, while driving and standing."""
    drive = Drive(5, initial_yaw_error_rad=math.radians(2.0))
    drive.run(6.0, check_covariance=True)
    drive.speed_mps = 0.0
    drive.run(4.0, check_covariance=True)


def test_gnss_fix_10m_off_is_rejected_and_counted():
    """A fix 10 m off fails the Mahalanobis gate: update_gnss returns False, the state and covariance are
    untouched, and it is counted under rejected['gnss']."""
    drive = Drive(DEMO_SEED)
    drive.run(5.0)
    est = drive.est
    x, P = est.x.copy(), est.P.copy()
    used = est.counters.used['gnss']
    c, s = math.cos(est.x[2]), math.sin(est.x[2])
    antenna = np.array([est.x[0] + 9.5 * c, est.x[1] + 9.5 * s])
    assert est.update_gnss(antenna + (6.0, 8.0), np.eye(2) * 0.012 ** 2) is False
    assert est.counters.rejected == {'gnss': 1}
    assert est.counters.used['gnss'] == used
    assert 'Mahalanobis' in est.last_rejection
    assert np.array_equal(est.x, x) and np.array_equal(est.P, P)
    # the next good fix is still used, and a 2 cm innovation passes
    assert est.update_gnss(antenna + (0.01, -0.01), np.eye(2) * 0.012 ** 2) is True
    assert est.counters.rejected == {'gnss': 1}


def test_heading_10_deg_off_is_rejected_and_counted():
    drive = Drive(DEMO_SEED)
    drive.run(3.0)
    yaw = drive.est.x[2]
    assert drive.est.update_heading(yaw + math.radians(10.0), 0.002 ** 2) is False
    assert drive.est.counters.rejected == {'gnss_heading': 1}
    assert drive.est.x[2] == yaw


def test_heading_update_corrects_a_3_deg_initial_yaw_error():
    """Standing still with dual-antenna heading only, a 3 deg error in the initial (AHRS) yaw is gone
    within a second: under 0.2 deg from 0.5 s on."""
    drive = Drive(DEMO_SEED, speed_mps=0.0, initial_yaw_error_rad=math.radians(3.0), use_gnss=False)
    log = drive.run(3.0)
    assert abs(log[0, 2]) == pytest.approx(math.radians(3.0), abs=1e-6)      # the error under test
    assert np.abs(log[log[:, 0] >= 0.5, 2]).max() < math.radians(0.2)
    assert drive.est.counters.used['gnss_heading'] == 29


def test_3_deg_initial_yaw_error_is_corrected_while_driving():
    """Driving with GNSS and heading: the 3 deg error (0.5 m at the 9.5 m lever arm) is corrected, yaw
    within 0.2 deg and position within 5 cm from 1 s on."""
    drive = Drive(DEMO_SEED, initial_yaw_error_rad=math.radians(3.0))
    log = drive.run(4.0)
    assert log[0, 1] > 0.4                                                     # the lever arm error
    later = log[log[:, 0] >= 1.0]
    assert np.abs(later[:, 2]).max() < math.radians(0.2)
    assert later[:, 1].max() < 0.05


def test_initialize_removes_the_lever_arm():
    """base_link = antenna - R(yaw) * (9.5, 0): facing north, the antenna at (3, 19.5) puts base_link at
    (3, 10)."""
    est = PoseEstimator(EstimatorParams())
    est.initialize(0.0, (3.0, 19.5), math.pi / 2, 0.012)
    assert est.x == pytest.approx([3.0, 10.0, math.pi / 2, 0.0, 1.0, 0.0])   # ... no gyro bias, scale 1, no slip
    assert est.initialized and est.t_s == 0.0
    # position variance includes the lever-arm effect of the yaw uncertainty
    assert est.P[0, 0] == pytest.approx(0.012 ** 2 + (9.5 * 0.05) ** 2)
    assert_covariance_ok(est.P)


def test_predict_integrates_speed_and_bias_corrected_yaw_rate():
    """Dead reckoning: 2 m/s for 1 s with the yaw rate equal to the bias estimate goes 2 m straight."""
    est = PoseEstimator(EstimatorParams())
    est.initialize(0.0, (9.5, 0.0), 0.0, 0.01)
    est.x[3] = 0.01                              # gyro bias estimate [rad/s]
    for k in range(1, 51):
        est.predict(k * 0.02, 2.0, 0.01)
    assert est.x[:3] == pytest.approx([2.0, 0.0, 0.0], abs=1e-9)
    p_before = est.P.copy()
    est.predict(0.5, 2.0, 0.01)                  # a stale time is ignored
    assert est.x[0] == pytest.approx(2.0) and np.array_equal(est.P, p_before)
    # the start was an antenna fix 9.5 m ahead: a yaw error e put base_link -9.5 e across the track;
    # driving 2 m east adds +2 e, so across-track variance is (9.5 - 2)^2 * 0.05^2 = 0.1406 m^2
    assert est.P[1, 1] - est.P[0, 0] == pytest.approx((9.5 - 2.0) ** 2 * 0.05 ** 2, rel=0.05)
    assert est.P[1, 2] == pytest.approx((2.0 - 9.5) * 0.05 ** 2, rel=0.05)
