"""simulation/sensors: seeded, reproducible sensor streams at their configured rates."""
import math

import numpy as np
import pytest

from smartgate_core.localization.estimator import FIX_RTK_FIXED
from smartgate_core.simulation.sensors import OdometryParams
from smartgate_core.simulation.vehicle import SimRates, VehicleSimulator
from smartgate_core.driving.command import DriveCommand
from smartgate_core.simulation.disturbances import DisturbanceParams
from smartgate_core.simulation.vehicle_model import VehicleParams, VehicleState


CALM = DisturbanceParams(crossfall=0.0, mean_wind_mps=(0.0, 0.0), gust_rate_hz=0.0, payload_mass_error=0.0,
                         payload_cg_offset_m=0.0)


def record(seed, steps=500, payload_kg=0.0, disturbances=DisturbanceParams()):
    """Every sensor value (and the truth) of `steps` physics steps, as plain tuples."""
    sim = VehicleSimulator(VehicleParams(), VehicleState(5.0, -2.0, 0.4), seed=seed, payload_kg=payload_kg,
                           disturbance_params=disturbances)
    rows = []
    for k in range(steps):
        out = sim.step(DriveCommand(6.0, 0.05 * math.sin(k / 50.0)))
        t = out.truth
        rows.append((
            out.t_s, t.x_m, t.y_m, t.yaw_rad, t.speed_mps,
            None if out.gnss is None else (out.gnss.x_m, out.gnss.y_m, out.gnss.heading_rad, out.gnss.fix_type),
            out.odometry_speed_mps,
            None if out.imu is None else (out.imu.yaw_rate_radps, out.imu.yaw_rad, out.imu.accel_x_mps2),
            out.ground_truth_due, out.clock_due))
    return rows


def test_same_seed_gives_identical_outputs():
    """Two simulators with the same seed produce bit-identical sensor outputs over 500 steps."""
    assert record(7) == record(7)


def test_different_seeds_give_different_noise_but_the_same_truth():
    """Without disturbances (which each seed draws differently) the truth is the same for any seed."""
    a, b = record(7, disturbances=CALM), record(8, disturbances=CALM)
    gnss_a = [r[5] for r in a if r[5] is not None]
    gnss_b = [r[5] for r in b if r[5] is not None]
    assert all(ga[:3] != gb[:3] for ga, gb in zip(gnss_a, gnss_b))
    assert [r[6] for r in a] != [r[6] for r in b]
    assert [r[7] for r in a if r[7]] != [r[7] for r in b if r[7]]
    assert [r[1:5] for r in a] == [r[1:5] for r in b]          # noise never feeds back into the physics


def test_disturbances_are_drawn_per_seed():
    """Each seed draws its own wind, payload error and load offset: the truth differs, a seed repeats it."""
    assert [r[1:5] for r in record(7, payload_kg=30000.0)] != [r[1:5] for r in record(8, payload_kg=30000.0)]
    sim = VehicleSimulator(VehicleParams(), VehicleState(), seed=7, payload_kg=30000.0)
    again = VehicleSimulator(VehicleParams(), VehicleState(), seed=7, payload_kg=30000.0)
    assert sim.model.payload_kg == again.model.payload_kg != 30000.0
    assert abs(sim.model.payload_kg / 30000.0 - 1.0) <= DisturbanceParams().payload_mass_error


def test_sensor_rates():
    """At 100 Hz physics over 5 s: 50 GNSS fixes (10 Hz), 250 odometry and IMU samples (50 Hz)."""
    rows = record(1)
    rates = SimRates()
    assert rows[-1][0] == pytest.approx(5.0)
    assert sum(r[5] is not None for r in rows) == 5.0 * rates.gnss_hz == 50
    assert sum(r[6] is not None for r in rows) == 5.0 * rates.odometry_hz == 250
    assert sum(r[7] is not None for r in rows) == 250
    assert sum(r[8] for r in rows) == 250 and sum(r[9] for r in rows) == 250
    assert [r[0] for r in rows if r[5] is not None][:2] == pytest.approx([0.1, 0.2])


def test_gnss_reports_the_antenna_9_5m_ahead_with_rtk_accuracy():
    """Fixes are of the antenna, 9.5 m ahead of base_link along the heading, within a few cm (RTK fixed);
    the dual-antenna heading is within ~0.5 deg."""
    sim = VehicleSimulator(VehicleParams(), VehicleState(100.0, 50.0, 2.0), seed=3)
    errors, heading_errors = [], []
    for _ in range(1000):
        out = sim.step(DriveCommand(0.0))
        if out.gnss is not None:
            t = out.truth
            ax, ay = t.x_m + 9.5 * math.cos(t.yaw_rad), t.y_m + 9.5 * math.sin(t.yaw_rad)
            errors.append(math.hypot(out.gnss.x_m - ax, out.gnss.y_m - ay))
            heading_errors.append(math.remainder(out.gnss.heading_rad - t.yaw_rad, 2 * math.pi))
            assert out.gnss.fix_type == FIX_RTK_FIXED and out.gnss.sigma_m == pytest.approx(0.012)
    assert len(errors) == 100
    assert max(errors) < 0.06 and np.mean(errors) < 0.03
    assert max(np.abs(heading_errors)) < 0.01


def test_slip_episodes_read_fast_for_a_while():
    """With slip every few seconds, some readings are 1-4 % fast beyond the scale error and noise."""
    sim = VehicleSimulator(VehicleParams(), VehicleState(), seed=4,
                           odometry_params=OdometryParams(slip_rate_hz=0.5, speed_sigma_mps=0.0))
    excess = []
    for _ in range(3000):
        out = sim.step(DriveCommand(5.0))
        if out.odometry_speed_mps is not None and out.truth.speed_mps > 4.9:
            excess.append(out.odometry_speed_mps / out.truth.speed_mps - 1.002)
    excess = np.asarray(excess)
    assert 0.1 < np.mean(excess > 0.005) < 0.9
    assert excess.max() <= 0.04 + 1e-9 and excess.min() >= -1e-9


def test_odometry_reads_zero_at_standstill_and_speed_when_moving():
    """Scale error and white noise, with slip episodes switched off (they have their own test)."""
    sim = VehicleSimulator(VehicleParams(), VehicleState(), seed=4,
                           odometry_params=OdometryParams(slip_rate_hz=0.0))
    still = [sim.step(DriveCommand(0.0)).odometry_speed_mps for _ in range(100)]
    assert all(v in (None, 0.0) for v in still)
    moving = []
    for _ in range(1500):
        out = sim.step(DriveCommand(5.0))
        if out.odometry_speed_mps is not None:
            moving.append(out.odometry_speed_mps - out.truth.speed_mps)
    assert np.mean(moving[-200:]) == pytest.approx(5.0 * 0.002, abs=0.003)      # 0.2 % scale error
    assert np.std(moving[-200:]) == pytest.approx(0.01, rel=0.3)               # 1 cm/s white noise
