"""vehicle_model: the dynamic single-track plant with tyres, axle loads, actuator delay and lags,
mass-dependent drive and brake limits, and disturbance forces."""
import math

import numpy as np
import pytest

from smartgate_core.driving.command import DriveCommand
from smartgate_core.simulation.vehicle_model import G_MPS2, Disturbance, VehicleModel, VehicleParams, VehicleState

DT = 0.01
PARAMS = VehicleParams()
ROLLING_MPS2 = PARAMS.rolling_resistance * G_MPS2


def run(command, steps, payload_kg=0.0, state=None, cruise_mps=None, disturbance=Disturbance(), cg_offset_m=0.0):
    """Step a fresh model `steps` times under `command`; return arrays of the state after each step.
    With cruise_mps, first drive 10 s at that speed (so the delay line holds cruise commands)."""
    if state is None:
        state = VehicleState(speed_mps=cruise_mps or 0.0)
    model = VehicleModel(PARAMS, state, payload_kg, DT, cg_offset_m)
    if cruise_mps is not None:
        for _ in range(1000):
            model.step(DriveCommand(cruise_mps))
        assert model.state.speed_mps == pytest.approx(cruise_mps, abs=1e-4)
    rows = []
    for _ in range(steps):
        s = model.step(command, disturbance)
        rows.append((s.x_m, s.y_m, s.yaw_rad, s.speed_mps, s.steer_rad, s.accel_mps2, s.yaw_rate_radps,
                     s.lateral_speed_mps))
    out = {k: np.array(v) for k, v in zip(('x', 'y', 'yaw', 'v', 'steer', 'a', 'w', 'vy'), zip(*rows))}
    out['model'] = model
    return out


def test_limits_follow_the_laden_mass():
    """F = m a: drive 1.5 m/s^2 empty, 0.44 laden 60 t; service brakes 2.5 m/s^2; full brakes run into
    the tyres' adhesion empty and into the brake force when heavy."""
    assert PARAMS.accel_limit(0.0) == pytest.approx(1.5)
    assert PARAMS.accel_limit(60000.0) == pytest.approx(37500.0 / 85000.0)
    assert PARAMS.decel_limit(0.0) == PARAMS.decel_limit(60000.0) == pytest.approx(2.5)
    assert PARAMS.emergency_decel(0.0) == pytest.approx(0.7 * G_MPS2)
    assert PARAMS.emergency_decel(80000.0) == pytest.approx(450000.0 / 105000.0)
    assert PARAMS.emergency_decel(60000.0) >= 5.0          # UN ECE R13: N3 laden at least 5.0 m/s^2


def test_mass_properties_follow_the_payload_and_its_centre_of_gravity():
    """The axle loads carry the whole weight; a load off the middle of the deck moves the CG with it."""
    model = VehicleModel(PARAMS, VehicleState(), 0.0, DT)
    assert sum(model.axle_load_n) == pytest.approx(PARAMS.empty_mass_kg * G_MPS2)
    assert model.cg_x_m == pytest.approx(PARAMS.empty_cg_x_m)
    model.payload_kg = 30000.0
    assert model.mass_kg == pytest.approx(55000.0)
    assert sum(model.axle_load_n) == pytest.approx(55000.0 * G_MPS2)
    centred = model.cg_x_m
    assert PARAMS.empty_cg_x_m < centred < PARAMS.deck_centre_x_m
    forward = VehicleModel(PARAMS, VehicleState(), 30000.0, DT, payload_cg_offset_m=0.6)
    assert forward.cg_x_m == pytest.approx(centred + 0.6 * 30000.0 / 55000.0)
    assert forward.axle_load_n[0] > model.axle_load_n[0]


def test_standstill_stays_still():
    """With zero commands nothing moves, even with the wheels turned and a side force on the body."""
    start = VehicleState(12.0, -3.0, 0.7)
    r = run(DriveCommand(0.0, 0.3), 500, state=start, disturbance=Disturbance(-5000.0, 2000.0))
    assert np.all(r['x'] == 12.0) and np.all(r['y'] == -3.0) and np.all(r['yaw'] == 0.7)
    assert np.all(r['v'] == 0.0)
    assert r['steer'][-1] == pytest.approx(0.3, abs=1e-3)


def test_commands_take_effect_after_the_actuator_delay():
    """A command reaches the actuators actuator_delay_s (0.10 s = 10 steps) later."""
    r = run(DriveCommand(5.0, 0.1), 20)
    delay_steps = round(PARAMS.actuator_delay_s / DT)
    assert np.all(r['v'][:delay_steps] == 0.0) and np.all(r['steer'][:delay_steps] == 0.0)
    assert r['v'][delay_steps] > 0.0 and r['steer'][delay_steps] > 0.0


@pytest.mark.parametrize('payload_kg', [0.0, 60000.0])
def test_speed_tracks_a_step_within_the_drive_limit(payload_kg):
    """A 6 m/s step: the acceleration never exceeds what the drive can do for the mass (less rolling
    resistance), the speed settles on 6 m/s and overshoots by less than 1 %."""
    r = run(DriveCommand(6.0), 4000, payload_kg)
    assert r['a'].max() <= PARAMS.accel_limit(payload_kg) - ROLLING_MPS2 + 1e-9
    assert r['v'].max() <= 6.0 * 1.01
    assert r['v'][-1] == pytest.approx(6.0, abs=1e-3)


def test_laden_accelerates_slower_than_empty():
    """Empty reaches 5 m/s in ~4 s; with 60 t (0.44 m/s^2 of drive) it takes over 12 s."""
    t_empty = DT * (1 + np.argmax(run(DriveCommand(8.0), 3000)['v'] >= 5.0))
    t_laden = DT * (1 + np.argmax(run(DriveCommand(8.0), 3000, 60000.0)['v'] >= 5.0))
    assert 3.0 < t_empty < 5.0
    assert t_laden > 12.0
    assert t_laden > 3.0 * t_empty


@pytest.mark.parametrize('payload_kg', [0.0, 60000.0, 100000.0])
def test_braking_stays_within_the_service_limit(payload_kg):
    """From 8 m/s to a stop command: the service brakes never exceed decel_limit(payload) (plus rolling
    resistance); the vehicle stops and never reverses."""
    r = run(DriveCommand(0.0), 1500, payload_kg, cruise_mps=8.0)
    assert r['a'].min() >= -PARAMS.decel_limit(payload_kg) - ROLLING_MPS2 - 1e-9
    assert r['a'].min() < -0.9 * PARAMS.decel_limit(payload_kg)
    assert r['v'].min() >= 0.0 and r['v'][-1] < 1e-3


def test_command_decel_cap_is_respected():
    """A command's max_decel_mps2 caps braking below the service limit."""
    r = run(DriveCommand(0.0, max_decel_mps2=1.0), 1500, cruise_mps=8.0)
    assert r['a'].min() >= -1.0 - ROLLING_MPS2 - 1e-9 and r['a'].min() < -0.95


@pytest.mark.parametrize('payload_kg', [0.0, 60000.0])
def test_emergency_stop_builds_up_to_full_braking(payload_kg):
    """Emergency stop: nothing for the delay, then the brakes build up (their lag) to full braking for
    the mass, down to 0, never below."""
    r = run(DriveCommand(8.0, emergency_stop=True), 600, payload_kg, cruise_mps=8.0)
    delay = round(PARAMS.actuator_delay_s / DT)
    full = PARAMS.emergency_decel(payload_kg) + ROLLING_MPS2
    assert r['a'][:delay - 1].min() > -0.2                        # still cruising through the delay
    assert r['a'][delay + 1] > -0.2 * full                        # building up, not a step
    assert r['a'].min() == pytest.approx(-full, rel=0.02)
    assert np.all(r['v'] >= 0.0) and r['v'][-1] == 0.0
    stop_step = int(np.argmax(r['v'] == 0.0))
    lag = PARAMS.brake_time_constant_s
    assert stop_step * DT == pytest.approx(PARAMS.actuator_delay_s + lag + 8.0 / full, abs=0.1)


def test_speed_never_negative():
    """Negative speed commands brake to zero; no reversing."""
    r = run(DriveCommand(-3.0), 600, cruise_mps=2.0)
    assert np.all(r['v'] >= 0.0) and r['v'][-1] == 0.0
    assert np.all(np.diff(r['x']) >= 0.0)


def test_speed_is_governed():
    """The governor cuts traction at the top speed: at most a hair over it."""
    r = run(DriveCommand(25.0), 3000)
    assert r['v'].max() <= PARAMS.max_speed_mps + 0.01 and r['v'][-1] == pytest.approx(10.0, abs=0.01)


def test_steering_rate_and_lock_are_respected():
    """Steering slews no faster than its rate limit (and does reach it) and stops at the lock."""
    r = run(DriveCommand(2.0, 1.0), 600)
    rate = np.abs(np.diff(np.concatenate([[0.0], r['steer']]))) / DT
    assert rate.max() <= PARAMS.max_steer_rate_radps + 1e-9
    assert rate.max() == pytest.approx(PARAMS.max_steer_rate_radps, rel=1e-6)
    assert r['steer'].max() <= PARAMS.max_steer_rad + 1e-12
    assert r['steer'][-1] == pytest.approx(PARAMS.max_steer_rad, abs=1e-4)
    r = run(DriveCommand(2.0, -1.0), 600)
    assert r['steer'][-1] == pytest.approx(-PARAMS.max_steer_rad, abs=1e-4)


def _circle(r, settled_from):
    pts = np.column_stack([r['x'], r['y']])[settled_from:]
    a = np.column_stack([2 * pts[:, 0], 2 * pts[:, 1], np.ones(len(pts))])
    cx, cy, c = np.linalg.lstsq(a, (pts ** 2).sum(axis=1), rcond=None)[0]
    return math.sqrt(c + cx * cx + cy * cy), cy


@pytest.mark.parametrize('steer_rad', [0.2, -0.35])
def test_slow_turns_follow_the_kinematic_radius(steer_rad):
    """Below the blend speed the tyres do not slip: at constant steer the rear axle drives a circle of
    radius L / tan(delta) (within 1 %), turning left for positive steer, with no side slip."""
    r = run(DriveCommand(0.5, steer_rad), 12000)
    radius, cy = _circle(r, 3000)
    assert radius == pytest.approx(PARAMS.wheelbase_m / math.tan(abs(steer_rad)), rel=0.01)
    assert np.sign(cy) == np.sign(steer_rad)                # started heading east: centre left is +y
    assert np.abs(r['vy'][3000:]).max() < 1e-9


@pytest.mark.parametrize('payload_kg', [0.0, 60000.0])
def test_fast_turn_slips_the_rear_axle_outwards(payload_kg):
    """At 8 m/s on a 200 m circle the tyres carry the centripetal force by slipping: the rear axle runs
    outwards of its heading by about m_rear a_y / C_rear (single-track theory, within 10 %)."""
    steer = math.atan(PARAMS.wheelbase_m / 200.0)
    r = run(DriveCommand(8.0, steer), 3000, payload_kg, cruise_mps=8.0)
    m = r['model']
    a_y = 8.0 * r['w'][-1]
    rear_mass_kg = m.axle_load_n[1] / G_MPS2
    expected_slip = rear_mass_kg * a_y / m.cornering_stiffness[1]
    assert -r['vy'][-1] / 8.0 == pytest.approx(expected_slip, rel=0.1)
    assert a_y == pytest.approx(8.0 ** 2 / 200.0, rel=0.05)        # near neutral steer at this load


def test_a_side_force_pushes_the_vehicle_off_its_heading():
    """Crossfall (a steady force to the right, 2 % of the weight): driving straight with the wheels
    straight, the tyres slip by about 0.02 / c, so in 10 s at 8 m/s the vehicle drifts some 0.2 m
    to the right; it keeps moving at the commanded speed."""
    mass_kg = PARAMS.empty_mass_kg
    r = run(DriveCommand(8.0, 0.0), 1000, cruise_mps=8.0, disturbance=Disturbance(-mass_kg * G_MPS2 * 0.02, 0.0))
    expected = -8.0 * 10.0 * 0.02 / PARAMS.cornering_coefficient
    assert 1.5 * expected < r['y'][-1] < 0.5 * expected
    assert r['v'][-1] == pytest.approx(8.0, abs=0.01)
