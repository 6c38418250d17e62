"""vehicle_model: kinematic bicycle at the rear axle with actuator delay, lags and mass-dependent limits."""
import math

import numpy as np
import pytest

from smartgate_core.driving.command import DriveCommand
from smartgate_core.simulation.vehicle_model import VehicleModel, VehicleParams, VehicleState

DT = 0.01
PARAMS = VehicleParams()


def run(command, steps, payload_kg=0.0, state=None, cruise_mps=None):
    """Step a fresh model `steps` times under `command`; return arrays of the state after each step.
    With cruise_mps, first drive 5 s at that speed (so the delay line holds cruise commands)."""
    if state is None:
        state = VehicleState(speed_mps=cruise_mps or 0.0)
    model = VehicleModel(PARAMS, state, payload_kg, DT)
    if cruise_mps is not None:
        for _ in range(500):
            model.step(DriveCommand(cruise_mps))
        assert model.state.speed_mps == pytest.approx(cruise_mps, abs=1e-6)
    rows = []
    for _ in range(steps):
        s = model.step(command)
        rows.append((s.x_m, s.y_m, s.yaw_rad, s.speed_mps, s.steer_rad, s.accel_mps2, s.yaw_rate_radps))
    return {k: np.array(v) for k, v in zip(('x', 'y', 'yaw', 'v', 'steer', 'a', 'w'), zip(*rows))}


def test_limits_follow_the_laden_mass():
    """F = m a: 1.5 m/s^2 empty, 0.44 m/s^2 with 60 t; brakes 2.5 m/s^2 until the brake force runs out."""
    assert PARAMS.accel_limit(0.0) == pytest.approx(1.5)
    assert PARAMS.accel_limit(60000.0) == pytest.approx(37500.0 / 85000.0)
    assert PARAMS.decel_limit(0.0) == pytest.approx(2.5)
    assert PARAMS.decel_limit(60000.0) == pytest.approx(2.5)
    assert PARAMS.decel_limit(100000.0) == pytest.approx(255000.0 / 125000.0)


def test_standstill_stays_still():
    """With zero commands nothing moves, even with the wheels turned."""
    start = VehicleState(12.0, -3.0, 0.7)
    r = run(DriveCommand(0.0, 0.3), 500, state=start)
    assert np.all(r['x'] == 12.0) and np.all(r['y'] == -3.0) and np.all(r['yaw'] == 0.7)
    assert np.all(r['v'] == 0.0)
    assert r['steer'][-1] == pytest.approx(0.3, abs=1e-3)


def test_commands_take_effect_after_the_actuator_delay():
    """A command reaches the actuators actuator_delay_s (0.05 s = 5 steps) later."""
    r = run(DriveCommand(5.0, 0.1), 10)
    delay_steps = round(PARAMS.actuator_delay_s / DT)
    assert np.all(r['v'][:delay_steps] == 0.0) and np.all(r['steer'][:delay_steps] == 0.0)
    assert r['v'][delay_steps] > 0.0 and r['steer'][delay_steps] > 0.0


@pytest.mark.parametrize('payload_kg', [0.0, 60000.0])
def test_speed_tracks_a_step_without_exceeding_the_accel_limit(payload_kg):
    """A 6 m/s step: the speed rises at no more than accel_limit (and reaches it), settles on 6 m/s
    without overshoot."""
    r = run(DriveCommand(6.0), 3000, payload_kg)
    limit = PARAMS.accel_limit(payload_kg)
    assert r['a'].max() <= limit + 1e-9
    assert r['a'].max() == pytest.approx(limit, rel=1e-6)
    assert r['v'].max() <= 6.0 + 1e-9
    assert r['v'][-1] == pytest.approx(6.0, abs=1e-6)


def test_laden_accelerates_slower_than_empty():
    """Empty reaches 5 m/s in ~3.4 s; with 60 t (0.44 m/s^2) it takes over 11 s."""
    t_empty = DT * (1 + np.argmax(run(DriveCommand(8.0), 3000)['v'] >= 5.0))
    t_laden = DT * (1 + np.argmax(run(DriveCommand(8.0), 3000, 60000.0)['v'] >= 5.0))
    assert 3.0 < t_empty < 4.0
    assert t_laden > 11.0
    assert t_laden > 3.0 * t_empty


@pytest.mark.parametrize('payload_kg', [0.0, 60000.0, 100000.0])
def test_braking_stays_within_the_service_limit(payload_kg):
    """From 8 m/s to a stop command: deceleration reaches but never exceeds decel_limit(payload);
    the vehicle stops and never reverses."""
    r = run(DriveCommand(0.0), 1500, payload_kg, cruise_mps=8.0)
    limit = PARAMS.decel_limit(payload_kg)
    assert r['a'].min() >= -limit - 1e-9
    assert r['a'].min() == pytest.approx(-limit, rel=1e-6)
    assert r['v'].min() >= 0.0 and r['v'][-1] < 1e-3


def test_command_decel_cap_is_respected():
    """A command's max_decel_mps2 caps braking below the service limit."""
    r = run(DriveCommand(0.0, max_decel_mps2=1.0), 1000, cruise_mps=8.0)
    assert r['a'].min() >= -1.0 - 1e-9 and r['a'].min() == pytest.approx(-1.0)


def test_emergency_stop_decelerates_at_4mps2_to_zero():
    """Emergency stop: exactly 4 m/s^2 (after the delay) down to 0, never below 0."""
    r = run(DriveCommand(8.0, emergency_stop=True), 300, cruise_mps=8.0)
    braking = r['a'][5:195]                 # delay 5 steps, then 8 m/s / 4 m/s^2 = 2 s
    assert PARAMS.emergency_decel_mps2 == 4.0
    assert np.allclose(braking, -4.0)
    assert np.all(r['v'] >= 0.0)
    stop_step = int(np.argmax(r['v'] == 0.0))
    assert stop_step * DT == pytest.approx(0.05 + 8.0 / 4.0, abs=0.02)
    assert np.all(r['v'][stop_step:] == 0.0)


def test_speed_never_negative():
    """Negative speed commands brake towards zero (the speed lag makes that asymptotic); no reversing."""
    r = run(DriveCommand(-3.0), 600, cruise_mps=2.0)
    assert np.all(r['v'] >= 0.0) and r['v'][-1] == pytest.approx(0.0, abs=1e-6)
    assert np.all(np.diff(r['x']) >= 0.0)


def test_speed_is_governed():
    r = run(DriveCommand(25.0), 2000)
    assert r['v'].max() <= PARAMS.max_speed_mps + 1e-9 and r['v'][-1] == pytest.approx(10.0, abs=1e-3)


def test_steering_rate_and_lock_are_respected():
    """Steering slews no faster than 0.35 rad/s (and does reach that rate) and stops at the 0.524 rad lock."""
    r = run(DriveCommand(2.0, 1.0), 400)
    rate = np.abs(np.diff(np.concatenate([[0.0], r['steer']]))) / DT
    assert rate.max() <= PARAMS.max_steer_rate_radps + 1e-9
    assert rate.max() == pytest.approx(PARAMS.max_steer_rate_radps, rel=1e-6)
    assert r['steer'].max() <= PARAMS.max_steer_rad + 1e-12
    assert r['steer'][-1] == pytest.approx(PARAMS.max_steer_rad, abs=1e-4)
    r = run(DriveCommand(2.0, -1.0), 400)
    assert r['steer'][-1] == pytest.approx(-PARAMS.max_steer_rad, abs=1e-4)


@pytest.mark.parametrize('steer_rad', [0.2, -0.35])
def test_constant_steering_gives_the_kinematic_turning_radius(steer_rad):
    """At constant steer the rear axle drives a circle of radius L / tan(delta) (within 1 %), turning
    left for positive steer."""
    r = run(DriveCommand(3.0, steer_rad), 6000)
    pts = np.column_stack([r['x'], r['y']])[1000:]          # steering and speed settled
    # least-squares circle through the settled path
    a = np.column_stack([2 * pts[:, 0], 2 * pts[:, 1], np.ones(len(pts))])
    cx, cy, c = np.linalg.lstsq(a, (pts ** 2).sum(axis=1), rcond=None)[0]
    radius = math.sqrt(c + cx * cx + cy * cy)
    assert radius == pytest.approx(PARAMS.wheelbase_m / math.tan(abs(steer_rad)), rel=0.01)
    assert np.sign(cy) == np.sign(steer_rad)                # started heading east: centre left is +y
    assert np.sign(r['w'][-1]) == np.sign(steer_rad)
    assert np.all(np.abs(r['yaw']) <= math.pi)
