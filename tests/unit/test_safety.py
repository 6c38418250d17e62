"""safety: the SafetyMonitor's rules one by one (precedence, obstacle and lead-vehicle caps, zone limit),
then the monitor in the in-process closed loop (closed_loop.drive) on the real export route."""
import math

import numpy as np
import pytest

from smartgate_core.simulation.closed_loop import CONTROL_PERIOD_S, Scenario, drive
from smartgate_core.driving.controller import STATE_SAFETY_STOP
from smartgate_core.driving.safety import SafetyDecision, SafetyInputs, SafetyMonitor, SafetyParams, \
    ece_r13_stopping_distance_m
from smartgate_core.simulation.sensors import RangeParams
from smartgate_core.simulation.vehicle_model import VehicleParams

P = SafetyParams()
BUMPER_M = RangeParams().mount_x_m             # front bumper ahead of base_link (12 m)
VEHICLE = VehicleParams()
EMERGENCY_DECEL = VEHICLE.emergency_decel(0.0) + VEHICLE.rolling_resistance * 9.80665     # empty, full brakes
ACTUATOR_DELAY_S = VehicleParams().actuator_delay_s
EXPORT_LANE_X = 13.125                          # the driverless export lane of moc1119_export_full
SEED = 1


def assess(**inputs) -> SafetyDecision:
    inputs.setdefault('speed_mps', 0.0)
    return SafetyMonitor(P).assess(SafetyInputs(**inputs))


def comfort_cap(room_m, speed_mps=0.0):
    """v = sqrt(2 a d) with d the room past the margin less what is covered during the response lag."""
    return math.sqrt(2.0 * P.comfort_decel_mps2 * max(room_m - speed_mps * P.response_lag_s, 0.0))


# ---------------------------------------------------------------------------------------------- precedence

def test_nothing_to_report_is_no_override():
    d = assess(speed_mps=8.0)
    assert d == SafetyDecision(math.inf, False, '')


@pytest.mark.parametrize('others', [
    {},
    {'heartbeat_age_s': math.inf},
    {'obstacle_range_m': 1.0, 'closing_speed_mps': 8.0},
    {'lead_gap_m': 5.0, 'zone_limit_mps': 2.0},
])
def test_estop_beats_everything(others):
    d = assess(speed_mps=8.0, estop=True, **others)
    assert d.emergency and d.speed_cap_mps == 0.0
    assert 'e-stop' in d.reason


def test_estop_is_an_emergency_even_at_standstill():
    d = assess(speed_mps=0.0, estop=True)
    assert d.emergency and 'e-stop' in d.reason


def test_heartbeat_older_than_the_timeout_is_an_emergency():
    d = assess(speed_mps=5.0, heartbeat_age_s=P.heartbeat_timeout_s + 0.01)
    assert d.emergency and d.speed_cap_mps == 0.0
    assert 'heartbeat' in d.reason
    assert f'{P.heartbeat_timeout_s + 0.01:.2f} s old' in d.reason


def test_heartbeat_exactly_at_the_timeout_is_not_yet_an_emergency():
    d = assess(speed_mps=5.0, heartbeat_age_s=P.heartbeat_timeout_s)
    assert not d.emergency
    assert d.speed_cap_mps == math.inf


def test_heartbeat_never_received_is_an_emergency():
    d = assess(speed_mps=0.0, heartbeat_age_s=math.inf)
    assert d.emergency and d.speed_cap_mps == 0.0
    assert 'heartbeat' in d.reason and 'never received' in d.reason


def test_heartbeat_loss_beats_obstacle_and_zone_rules():
    d = assess(speed_mps=5.0, heartbeat_age_s=2.0, obstacle_range_m=30.0, closing_speed_mps=5.0,
               zone_limit_mps=1.0)
    assert d.emergency and 'heartbeat' in d.reason


def test_heartbeat_timeout_leaves_room_to_brake_within_1s():
    """JT/T 1377-2021: braking must start within 1 s of a communication fault; the timeout plus one
    20 Hz control period plus the actuator delay has to fit in that second."""
    assert P.heartbeat_timeout_s + CONTROL_PERIOD_S + ACTUATOR_DELAY_S <= 1.0


# ---------------------------------------------------------------------------------------------- obstacle

def test_far_obstacle_gives_a_finite_cap_and_no_emergency():
    d = assess(speed_mps=8.0, obstacle_range_m=60.0, closing_speed_mps=8.0)
    assert not d.emergency
    assert math.isfinite(d.speed_cap_mps) and d.speed_cap_mps > 0.0
    assert d.speed_cap_mps == pytest.approx(comfort_cap(60.0 - P.obstacle_margin_m, 8.0))
    assert d.reason == 'slowing for obstacle'


def test_obstacle_cap_is_monotone_in_range():
    ranges = np.linspace(80.0, 12.0, 35)
    caps = [assess(speed_mps=4.0, obstacle_range_m=float(r), closing_speed_mps=4.0) for r in ranges]
    assert not any(d.emergency for d in caps)
    values = np.array([d.speed_cap_mps for d in caps])
    assert np.all(np.isfinite(values))
    assert np.all(np.diff(values) < 0.0)            # strictly shrinks as the obstacle comes closer


def test_obstacle_cap_allows_for_the_response_lag():
    """At speed v the vehicle covers v * lag before the brakes answer: the cap is below the lag-free
    sqrt(2 a (range - margin)), by exactly that distance; at standstill the lag costs nothing."""
    rng, room = 40.0, 40.0 - P.obstacle_margin_m
    moving = assess(speed_mps=6.0, obstacle_range_m=rng, closing_speed_mps=6.0)
    lag_free = math.sqrt(2.0 * P.comfort_decel_mps2 * room)
    assert moving.speed_cap_mps < lag_free - 0.1
    assert moving.speed_cap_mps == pytest.approx(comfort_cap(room, 6.0))
    standing = assess(speed_mps=0.0, obstacle_range_m=rng)
    assert standing.speed_cap_mps == pytest.approx(lag_free)


def test_obstacle_cap_is_zero_when_the_lag_eats_the_room():
    """Room past the margin shorter than the distance covered during the lag, but within service braking
    (and a long TTC): cap 0, not negative or NaN, and no emergency."""
    d = assess(speed_mps=3.0, obstacle_range_m=P.obstacle_margin_m + 0.9, closing_speed_mps=0.1)
    assert not d.emergency
    assert d.speed_cap_mps == 0.0


def test_inside_the_margin_while_moving_is_an_emergency():
    d = assess(speed_mps=0.6, obstacle_range_m=P.obstacle_margin_m - 0.5, closing_speed_mps=0.6)
    assert d.emergency and d.speed_cap_mps == 0.0
    assert 'obstacle' in d.reason and 'margin' in d.reason


@pytest.mark.parametrize('speed', [0.0, 0.3, 0.5])
def test_inside_the_margin_at_standstill_holds_without_emergency(speed):
    d = assess(speed_mps=speed, obstacle_range_m=P.obstacle_margin_m - 0.5)
    assert not d.emergency
    assert d.speed_cap_mps == 0.0
    assert d.reason.startswith('holding') and 'obstacle' in d.reason


def test_exactly_at_the_margin_counts_as_inside():
    assert assess(speed_mps=2.0, obstacle_range_m=P.obstacle_margin_m).emergency
    d = assess(speed_mps=0.0, obstacle_range_m=P.obstacle_margin_m)
    assert not d.emergency and d.speed_cap_mps == 0.0


def test_obstacle_beyond_service_braking_with_short_ttc_is_an_emergency():
    """8 m/s with 10 m of room needs 3.2 m/s^2 (> 2.5) and collides in 1.25 s (< 3 s)."""
    d = assess(speed_mps=8.0, obstacle_range_m=P.obstacle_margin_m + 10.0, closing_speed_mps=8.0)
    assert d.emergency and d.speed_cap_mps == 0.0
    assert 'obstacle' in d.reason and 'time to collision 1.2' in d.reason


def test_obstacle_beyond_service_braking_but_long_ttc_is_only_a_cap():
    """Same geometry, but the obstacle recedes almost as fast (closing 1 m/s): TTC 10 s, no emergency."""
    d = assess(speed_mps=8.0, obstacle_range_m=P.obstacle_margin_m + 10.0, closing_speed_mps=1.0)
    assert not d.emergency
    assert d.speed_cap_mps == pytest.approx(comfort_cap(10.0, 8.0))


def test_obstacle_within_service_braking_with_short_ttc_is_only_a_cap():
    """5 m/s with 10 m of room needs 1.25 m/s^2 (<= 2.5): the cap handles it even though TTC is 2 s."""
    d = assess(speed_mps=5.0, obstacle_range_m=P.obstacle_margin_m + 10.0, closing_speed_mps=5.0)
    assert not d.emergency
    assert d.speed_cap_mps == pytest.approx(comfort_cap(10.0, 5.0))


# ---------------------------------------------------------------------------------------------- lead vehicle, zone

def test_lead_vehicle_is_capped_like_an_obstacle_with_the_min_gap():
    gap = 50.0
    d = assess(speed_mps=5.0, lead_gap_m=gap)
    assert not d.emergency
    assert d.speed_cap_mps == pytest.approx(comfort_cap(gap - P.min_gap_m, 5.0))
    assert d.reason == 'slowing for vehicle ahead'
    # same room as an obstacle at margin + 30 m gives the same cap
    o = assess(speed_mps=5.0, obstacle_range_m=P.obstacle_margin_m + (gap - P.min_gap_m), closing_speed_mps=5.0)
    assert o.speed_cap_mps == pytest.approx(d.speed_cap_mps)


def test_lead_vehicle_inside_the_min_gap():
    moving = assess(speed_mps=2.0, lead_gap_m=P.min_gap_m - 1.0)
    assert moving.emergency and 'vehicle ahead' in moving.reason
    standing = assess(speed_mps=0.0, lead_gap_m=P.min_gap_m - 1.0)
    assert not standing.emergency and standing.speed_cap_mps == 0.0
    assert standing.reason.startswith('holding') and 'vehicle ahead' in standing.reason


def test_lead_vehicle_closing_fast_is_an_emergency():
    """The lead vehicle's closing speed is taken as our own speed (a stopped vehicle ahead)."""
    d = assess(speed_mps=8.0, lead_gap_m=P.min_gap_m + 10.0)
    assert d.emergency and 'vehicle ahead' in d.reason


def test_lead_vehicle_cap_is_monotone_in_gap():
    caps = [assess(speed_mps=3.0, lead_gap_m=g).speed_cap_mps for g in np.linspace(100.0, 25.0, 16)]
    assert np.all(np.diff(caps) < 0.0)


def test_zone_limit_is_a_cap():
    d = assess(speed_mps=8.0, zone_limit_mps=4.0)
    assert d == SafetyDecision(4.0, False, 'zone speed limit')


@pytest.mark.parametrize('zone, obstacle_range, lead_gap, expected', [
    (1.0, 60.0, 120.0, 'zone speed limit'),           # zone lowest
    (9.0, 20.0, 120.0, 'slowing for obstacle'),       # obstacle lowest
    (9.0, 60.0, 40.0, 'slowing for vehicle ahead'),   # lead vehicle lowest
    (math.inf, 60.0, 40.0, 'slowing for vehicle ahead'),
])
def test_lowest_cap_wins_and_its_reason_is_reported(zone, obstacle_range, lead_gap, expected):
    speed = 3.0
    d = assess(speed_mps=speed, obstacle_range_m=obstacle_range, closing_speed_mps=speed, lead_gap_m=lead_gap,
               zone_limit_mps=zone)
    caps = {'zone speed limit': zone,
            'slowing for obstacle': comfort_cap(obstacle_range - P.obstacle_margin_m, speed),
            'slowing for vehicle ahead': comfort_cap(lead_gap - P.min_gap_m, speed)}
    assert min(caps, key=caps.get) == expected                     # the case is what it says
    assert not d.emergency
    assert d.reason == expected
    assert d.speed_cap_mps == pytest.approx(min(caps.values()))


def test_margin_emergency_beats_a_lower_zone_limit():
    d = assess(speed_mps=2.0, zone_limit_mps=0.1, lead_gap_m=P.min_gap_m - 2.0)
    assert d.emergency


# ---------------------------------------------------------------------------------------------- closed loop

@pytest.fixture(scope='module')
def export_full(real_map):
    return real_map.route('moc1119_export_full')


def bumper_xy(truth_row):
    x, y, yaw = truth_row[:3]
    return x + BUMPER_M * math.cos(yaw), y + BUMPER_M * math.sin(yaw)


@pytest.fixture(scope='module')
def obstacle_run(export_full):
    """Obstacle disc on the export lane at y = 400; the vehicle stands still from ~109 s."""
    obstacle = (EXPORT_LANE_X, 400.0, 1.0)
    trace = drive(export_full, SEED, scenario=Scenario(obstacles=[obstacle], max_sim_s=115.0))
    return obstacle, trace


def test_obstacle_on_the_lane_stops_the_vehicle_a_margin_short(obstacle_run):
    (ox, oy, radius), trace = obstacle_run
    t, truth, _ = trace.arrays()
    assert truth[:, 3].max() > 8.0                                   # it did get up to lane speed first
    assert truth[-1, 3] < 0.01                                       # standing at the end
    bx, by = bumper_xy(truth[-1])
    gap = math.hypot(ox - bx, oy - by) - radius
    assert 3.0 <= gap <= 7.0
    assert by < oy                                                   # short of it, not past it
    assert abs(truth[-1, 0] - EXPORT_LANE_X) < 0.2                   # still on the lane


def test_obstacle_stop_uses_service_braking_only(obstacle_run):
    _, trace = obstacle_run
    t, truth, _ = trace.arrays()
    assert truth[:, 4].min() >= -2.6
    assert trace.state != STATE_SAFETY_STOP                           # latched if it had ever happened
    assert 'obstacle' in trace.reason


@pytest.fixture(scope='module')
def estop_run(export_full):
    """E-stop at 70 s, when the vehicle has been at 30 km/h on the export lane for a few seconds."""
    return drive(export_full, SEED, scenario=Scenario(estop_at_s=70.0, max_sim_s=90.0))


def test_estop_at_full_speed(estop_run):
    trace = estop_run
    t, truth, _ = trace.arrays()
    assert trace.state == STATE_SAFETY_STOP
    assert 'e-stop' in trace.reason
    assert truth[-1, 3] < 1e-3
    assert t[-1] < 75.0                                              # stopped, not timed out
    assert truth[:, 4].min() == pytest.approx(-EMERGENCY_DECEL, abs=0.05)


def test_estop_stopping_distance(estop_run):
    """From the control step that sees the e-stop, the stop is within UN ECE R13's type-0 distance for
    category N3 (0.15 v + v^2/130, v in km/h), and no shorter than full braking alone could make it."""
    t, truth, _ = estop_run.arrays()
    i = int(np.argmax(t >= 70.0 - 1e-9))
    v = truth[i, 3]
    assert v > 8.0
    before = truth[i - 20:i]
    assert before[:, 4].min() > -0.5                                 # it was not braking before
    distance = math.hypot(*(truth[-1, :2] - truth[i, :2]))
    assert v * v / (2.0 * EMERGENCY_DECEL) < distance <= ece_r13_stopping_distance_m(v)


def test_ece_r13_stopping_distance():
    """11.4 m from 30 km/h, 36.8 m from 60 km/h (the N3 test speed)."""
    assert ece_r13_stopping_distance_m(30.0 / 3.6) == pytest.approx(4.5 + 900.0 / 130.0)
    assert ece_r13_stopping_distance_m(60.0 / 3.6) == pytest.approx(9.0 + 3600.0 / 130.0)


@pytest.fixture(scope='module')
def heartbeat_run(export_full):
    return drive(export_full, SEED, scenario=Scenario(heartbeat_stops_at_s=70.0, max_sim_s=90.0))


def test_heartbeat_loss_brakes_within_1s(heartbeat_run):
    trace = heartbeat_run
    t, truth, _ = trace.arrays()
    assert 69.0 < trace.last_heartbeat_s < 70.0
    before = t <= trace.last_heartbeat_s
    assert truth[before, 4].min() > -0.5                             # no braking while the beat was there
    braking = np.flatnonzero(truth[:, 4] < -0.5)
    assert braking.size
    assert t[braking[0]] - trace.last_heartbeat_s <= 1.0
    assert t[braking[0]] - trace.last_heartbeat_s > P.heartbeat_timeout_s     # not before the timeout
    assert trace.state == STATE_SAFETY_STOP
    assert 'heartbeat' in trace.reason
    assert truth[-1, 3] < 1e-3
