"""baseline: the robot_localization-like EKF the localization bench compares our Localizer with. It has to
be a fair opponent: it tracks an open-sky drive to centimetres, it dead-reckons through a GNSS outage (its
error grows, but far less than the last fix held), its rejection threshold refuses an outlying fix, and bad
readings are refused and counted with the reason, the filter untouched.

The drives are the seeded vehicle simulator fed as the bench feeds the baseline (IMU yaw rate, odometry
speed, the dual-antenna heading, then the fix; no fix while the receiver has none)."""
import copy
import math

import numpy as np
import pytest

from smartgate_core.driving.command import DriveCommand
from smartgate_core.localization.baseline import RlBaseline, RlBaselineParams
from smartgate_core.localization.estimator import FIX_NONE
from smartgate_core.simulation.sensors import GnssEnvironment
from smartgate_core.simulation.vehicle import VehicleSimulator
from smartgate_core.simulation.vehicle_model import VehicleParams, VehicleState

SPEED_MPS = 8.0
ARM_M = RlBaselineParams().lever_arm_m[0]           # 9.5 m ahead of base_link


class Drive:
    """A straight drive of the simulated vehicle with the baseline in the loop; logs, at every GNSS epoch,
    (t, baseline error [m], error of the last fix held [m], GNSS positions used so far)."""

    def __init__(self, seed, params=RlBaselineParams(), environment=None):
        self.sim = VehicleSimulator(VehicleParams(), VehicleState(20.0, -10.0, 0.3), seed=seed,
                                    gnss_environment=environment or GnssEnvironment())
        self.rl = RlBaseline(params)
        self.held = None            # base_link of the last fix with a heading: the GNSS-only hold
        self.log = []

    def run(self, seconds):
        rl = self.rl
        while self.sim.t_s < seconds - 1e-9:
            out = self.sim.step(DriveCommand(SPEED_MPS))
            t = out.t_s
            if out.imu is not None:
                rl.imu(t, out.imu.yaw_rate_radps)
            if out.odometry_speed_mps is not None:
                rl.odometry(t, out.odometry_speed_mps)
            g = out.gnss
            if g is None:
                continue
            if g.fix_type != FIX_NONE:
                if math.isfinite(g.heading_rad):
                    rl.gnss_heading(t, g.heading_rad, g.heading_sigma_rad ** 2)
                    self.held = (g.x_m - ARM_M * math.cos(g.heading_rad), g.y_m - ARM_M * math.sin(g.heading_rad))
                rl.gnss(t, (g.x_m, g.y_m), np.eye(2) * g.sigma_m ** 2)
            if rl.initialized:
                tr = out.truth
                self.log.append((t, math.hypot(rl.x[0] - tr.x_m, rl.x[1] - tr.y_m),
                                 math.hypot(self.held[0] - tr.x_m, self.held[1] - tr.y_m), rl.used['gnss']))
        return np.array(self.log)


@pytest.mark.parametrize('seed', [1, 4])
def test_open_sky_drive_is_tracked_to_a_few_centimetres(seed):
    """RTK fixed throughout, robot_localization's default noise: within 10 cm at every fix after 5 s of
    settling, 6 cm p95; no reading refused."""
    drive = Drive(seed)
    log = drive.run(40.0)
    settled = log[log[:, 0] >= 5.0, 1]
    assert settled.max() < 0.10
    assert np.percentile(settled, 95) < 0.06
    assert drive.rl.rejected == {'odometry': 0, 'imu': 0, 'gnss': 0, 'gnss_heading': 0}


def test_outage_is_dead_reckoned_far_better_than_the_held_fix():
    """A 30 s outage at 8 m/s (240 m driven on odometry and gyro alone): the baseline uses no position
    meanwhile, its error grows (it is dead reckoning, not GNSS), yet at the end of the outage it is under
    5 % of the error of the last fix held."""
    drive = Drive(1, environment=GnssEnvironment(outage_windows=[(20.0, 50.0)]))
    log = drive.run(50.0)
    before = log[(log[:, 0] >= 15.0) & (log[:, 0] < 20.0)]
    inside = log[(log[:, 0] >= 20.0) & (log[:, 0] < 50.0)]
    end = inside[-1]
    assert end[0] == pytest.approx(49.9)
    assert np.all(inside[:, 3] == before[-1, 3])                   # no GNSS position used in the outage
    assert end[2] > 200.0                                          # the held fix is left ~240 m behind
    assert end[1] > 3.0 * before[:, 1].max()                       # the dead-reckoning error grows ...
    assert end[1] < 0.05 * end[2]                                  # ... far less than the hold's


@pytest.mark.parametrize('threshold, used', [(5.0, False), (math.inf, True)])
def test_rejection_threshold_refuses_an_outlying_fix_and_none_takes_it(threshold, used):
    """A fix 3 m off: with pose0_rejection_threshold 5 it is refused and counted, the state untouched; with
    none (the default) it is fused and drags the estimate."""
    drive = Drive(1, RlBaselineParams(position_rejection_threshold=threshold))
    drive.run(10.0)
    rl, t = drive.rl, drive.sim.t_s
    x0, rejected0 = rl.x.copy(), rl.rejected['gnss']
    antenna = (rl.x[0] + ARM_M * math.cos(rl.x[2]) + 3.0, rl.x[1] + ARM_M * math.sin(rl.x[2]))
    assert rl.gnss(t, antenna, np.eye(2) * 0.012 ** 2) is used
    if used:
        assert rl.x[0] - x0[0] > 1.0
    else:
        assert rl.rejected['gnss'] == rejected0 + 1
        assert 'Mahalanobis distance' in rl.last_rejection and 'threshold 5' in rl.last_rejection
        assert np.array_equal(rl.x, x0)


@pytest.fixture(scope='module')
def converged():
    """A baseline after 10 s of open-sky driving, and the simulator time (tests take a copy)."""
    drive = Drive(1)
    drive.run(10.0)
    return drive.rl, drive.sim.t_s


GOOD_COV = [[1e-4, 0.0], [0.0, 1e-4]]
BAD_READINGS = [      # (id, sensor, arguments after the stamp, what last_rejection must say)
    ('speed-nan', 'odometry', (math.nan,), 'not finite'),
    ('speed-inf', 'odometry', (math.inf,), 'not finite'),
    ('yaw-rate-nan', 'imu', (math.nan,), 'not finite'),
    ('heading-nan', 'gnss_heading', (math.nan, 1e-6), 'not finite'),
    ('heading-variance-nan', 'gnss_heading', (0.3, math.nan), 'not finite'),
    ('heading-variance-zero', 'gnss_heading', (0.3, 0.0), 'not positive'),
    ('heading-variance-negative', 'gnss_heading', (0.3, -1e-6), 'not positive'),
    ('fix-nan', 'gnss', ((math.nan, 0.0), GOOD_COV), 'not finite'),
    ('fix-cov-nan', 'gnss', ((0.0, 0.0), [[math.nan, 0.0], [0.0, 1e-4]]), 'not finite'),
    ('fix-cov-zero', 'gnss', ((0.0, 0.0), [[0.0, 0.0], [0.0, 0.0]]), 'positive definite'),
    ('fix-cov-negative', 'gnss', ((0.0, 0.0), [[-1e-4, 0.0], [0.0, 1e-4]]), 'positive definite'),
    ('fix-cov-singular', 'gnss', ((0.0, 0.0), [[1e-4, 1e-4], [1e-4, 1e-4]]), 'positive definite'),
    ('fix-cov-indefinite', 'gnss', ((0.0, 0.0), [[1e-4, 2e-4], [2e-4, 1e-4]]), 'positive definite'),
    ('fix-cov-asymmetric', 'gnss', ((0.0, 0.0), [[1e-4, 5e-5], [0.0, 1e-4]]), 'positive definite'),
    ('fix-cov-shape', 'gnss', ((0.0, 0.0), [1e-4, 1e-4]), 'shape'),
]


@pytest.mark.parametrize('sensor, args, why', [c[1:] for c in BAD_READINGS], ids=[c[0] for c in BAD_READINGS])
def test_bad_reading_is_refused_counted_and_changes_nothing(converged, sensor, args, why):
    rl, t = copy.deepcopy(converged[0]), converged[1]
    x0, P0, t0 = rl.x.copy(), rl.P.copy(), rl.t_s
    used0, rejected0 = dict(rl.used), dict(rl.rejected)
    assert getattr(rl, sensor)(t + 0.01, *args) is False
    assert rl.rejected == {**rejected0, sensor: rejected0[sensor] + 1}
    assert rl.used == used0
    assert rl.last_rejection.startswith(f'rejected {sensor}: ') and why in rl.last_rejection
    assert np.array_equal(rl.x, x0) and np.array_equal(rl.P, P0) and rl.t_s == t0


def test_a_fix_before_any_heading_is_refused():
    """navsat_transform needs an orientation to move the fix to base_link: without one the fix is
    refused and counted; with a heading the next fix starts the filter on base_link."""
    rl = RlBaseline(RlBaselineParams())
    assert rl.gnss(0.0, (109.5, 0.0), GOOD_COV) is False
    assert rl.rejected['gnss'] == 1 and 'no heading' in rl.last_rejection
    assert not rl.initialized
    assert rl.gnss_heading(0.1, 0.0, 1e-6) is True
    assert rl.gnss(0.1, (109.5, 0.0), GOOD_COV) is True
    assert rl.initialized
    np.testing.assert_allclose(rl.x[:3], [100.0, 0.0, 0.0], atol=1e-12)
