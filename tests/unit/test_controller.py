"""controller: RouteTracker closed around the VehicleSimulator's ground truth, in-process, at the
route follower's 20 Hz over 100 Hz physics."""
import math
from types import SimpleNamespace

import numpy as np
import pytest

from smartgate_core.driving.controller import (STATE_DOCKING, STATE_DRIVING, STATE_OFF_ROUTE, STATE_STOPPED,
                                       ControllerParams, RouteTracker)
from smartgate_core.simulation.vehicle import VehicleSimulator
from smartgate_core.driving.command import DriveCommand
from smartgate_core.simulation.vehicle_model import VehicleParams, VehicleState

KMH = 1 / 3.6
CONTROL_HZ = 20.0                       # config/route_follower.param.yaml control_rate_hz


def drive(route, payload_kg=0.0, seed=1, lateral_offset_m=0.0, max_s=400.0, precise_stop=True):
    """Follow `route` from its start until the tracker stops (or max_s); log every control step."""
    x0, y0, heading, _, _ = route.sample(0.0)
    start = VehicleState(x0 - lateral_offset_m * math.sin(heading), y0 + lateral_offset_m * math.cos(heading),
                         heading)
    sim = VehicleSimulator(VehicleParams(), start, seed=seed, payload_kg=payload_kg)
    tracker = RouteTracker(ControllerParams())
    tracker.set_route(route, precise_stop)
    every = round(sim.rates.physics_hz / CONTROL_HZ)
    rows, outputs = [], []
    truth, command, max_speed = sim.model.state, DriveCommand(), 0.0
    for k in range(int(max_s * sim.rates.physics_hz)):
        if k % every == 0:
            out = tracker.step(truth.x_m, truth.y_m, truth.yaw_rad, truth.speed_mps, 1.0 / CONTROL_HZ)
            command = out.command
            p = route.project(truth.x_m, truth.y_m, out.s_m)        # independent of the tracker's report
            rows.append((sim.t_s, p.s_m, p.lateral_m, truth.speed_mps, route.sample(p.s_m)[4],
                         command.speed_mps, command.steer_rad, tracker.eta_s(p.s_m)))
            outputs.append(out)
            if out.state in (STATE_STOPPED, STATE_OFF_ROUTE) and truth.speed_mps < 1e-3:
                break
        truth = sim.step(command).truth
        max_speed = max(max_speed, truth.speed_mps)
    log = np.array(rows)
    return SimpleNamespace(route=route, tracker=tracker, outputs=outputs, t=log[:, 0], s=log[:, 1],
                           cross_track=log[:, 2], speed=log[:, 3], limit=log[:, 4], cmd_speed=log[:, 5],
                           cmd_steer=log[:, 6], eta=log[:, 7], max_speed=max_speed, end_time=sim.t_s,
                           stop_error=math.hypot(truth.x_m - route.xy[-1, 0], truth.y_m - route.xy[-1, 1]))


@pytest.fixture(scope='module')
def crane_to_km0(real_map):
    """One empty run of moc1119_export_crane_to_km0 (~694 m with the S-curve), shared by the tests."""
    return drive(real_map.route('moc1119_export_crane_to_km0'))


def test_true_cross_track_stays_under_10cm(crane_to_km0):
    assert np.abs(crane_to_km0.cross_track).max() < 0.10


def test_stops_within_3cm_of_the_route_end(crane_to_km0):
    run = crane_to_km0
    assert run.outputs[-1].state == STATE_STOPPED
    assert run.stop_error < 0.03
    assert run.outputs[-1].remaining_m < 0.03
    assert 100.0 < run.end_time < 160.0                  # it drove the route, it did not time out


def test_state_sequence_driving_docking_stopped(crane_to_km0):
    """driving until 4 m (dock_distance_m) from the stop, docking, then stopped; never off route."""
    states = [o.state for o in crane_to_km0.outputs]
    changes = [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
    assert changes == [STATE_DRIVING, STATE_DOCKING, STATE_STOPPED]
    first_docking = next(o for o in crane_to_km0.outputs if o.state == STATE_DOCKING)
    assert 3.5 < first_docking.remaining_m <= 4.0


def test_reaches_29kmh_on_the_smart_lane(crane_to_km0):
    assert crane_to_km0.max_speed >= 29.0 * KMH
    assert crane_to_km0.max_speed <= 30.0 * KMH + 1e-6        # the lane's limit and the controller's top speed


def test_speed_commands_respect_the_route_limits(crane_to_km0):
    """The commanded speed never exceeds the limit of the route sample the vehicle is on, and steering
    stays within the lock."""
    run = crane_to_km0
    step = run.route.s[-1] / (len(run.route.s) - 1)
    own_limit = run.route.speed_limit_mps[np.minimum((run.s / step).astype(int), len(run.route.s) - 1)]
    assert np.all(run.cmd_speed <= own_limit + 1e-9)
    assert np.abs(run.cmd_steer).max() <= ControllerParams().max_steer_rad


def test_never_exceeds_the_route_speed_limit_by_more_than_0_3kmh(crane_to_km0):
    over = crane_to_km0.speed - crane_to_km0.limit
    worst = int(np.argmax(over))
    assert over[worst] <= 0.3 * KMH, (f'{over[worst] / KMH:.2f} km/h over the limit at s={crane_to_km0.s[worst]:.1f} m '
                                      f'({crane_to_km0.limit[worst] / KMH:.1f} km/h)')


def test_eta_decreases_along_the_route(crane_to_km0):
    """eta_s falls monotonically to 0 at the stop, is never shorter than the route at top speed, and the
    time to go reported during the drive never rises."""
    tracker = crane_to_km0.tracker
    s = np.linspace(0.0, crane_to_km0.route.length_m, 200)
    eta = np.array([tracker.eta_s(v) for v in s])
    assert np.all(np.diff(eta) < 0.0)
    assert eta[-1] == pytest.approx(0.0, abs=1e-9)
    assert eta[0] > crane_to_km0.route.length_m / ControllerParams().max_speed_mps
    assert eta[0] < crane_to_km0.end_time
    assert np.all(np.diff(crane_to_km0.eta) <= 1e-9)


def test_eta_matches_the_time_actually_driven(crane_to_km0):
    """Once under way (after 50 m), eta_s is within 2 s + 5 % of the time the drive actually took to stop."""
    run = crane_to_km0
    to_go = run.end_time - run.t
    under_way = run.s >= 50.0
    error = np.abs(run.eta - to_go)[under_way] - (2.0 + 0.05 * to_go[under_way])
    worst = int(np.argmax(error))
    assert error[worst] <= 0.0, (f'eta {run.eta[under_way][worst]:.1f} s, actually {to_go[under_way][worst]:.1f} s '
                                 f'at s={run.s[under_way][worst]:.1f} m')


def test_laden_vehicle_stops_within_3cm_at_the_crane_bay(real_map):
    """60 t laden, moc1119_export_yard_to_crane (60 m, 15 km/h): within 3 cm of the crane-bay stop, never
    over 15 km/h + 0.3 km/h."""
    run = drive(real_map.route('moc1119_export_yard_to_crane'), payload_kg=60000.0, max_s=120.0)
    assert run.outputs[-1].state == STATE_STOPPED
    assert run.stop_error < 0.03
    assert np.abs(run.cross_track).max() < 0.05
    assert run.max_speed <= 15.3 * KMH
    assert run.max_speed >= 14.5 * KMH


def test_starting_1_5m_off_the_path_is_an_emergency_stop(real_map):
    """1.5 m beside the path (limit 1.0 m) the tracker goes off_route and commands an emergency stop; the
    state latches even back on the path, until a new route is set."""
    route = real_map.route('moc1119_export_crane_to_km0')
    tracker = RouteTracker(ControllerParams())
    tracker.set_route(route)
    x, y, heading, _, _ = route.sample(0.0)
    out = tracker.step(x - 1.5 * math.sin(heading), y + 1.5 * math.cos(heading), heading, 0.0, 0.05)
    assert out.state == STATE_OFF_ROUTE
    assert out.command.emergency_stop is True and out.command.speed_mps == 0.0
    assert out.cross_track_m == pytest.approx(1.5, abs=0.01)
    again = tracker.step(x, y, heading, 0.0, 0.05)
    assert again.state == STATE_OFF_ROUTE and again.command.emergency_stop
    tracker.set_route(route)
    assert tracker.step(x, y, heading, 0.0, 0.05).state == STATE_DRIVING


def test_off_route_in_closed_loop_halts_the_vehicle(real_map):
    run = drive(real_map.route('moc1119_export_yard_to_crane'), lateral_offset_m=-1.5, max_s=10.0)
    assert {o.state for o in run.outputs} == {STATE_OFF_ROUTE}
    assert run.max_speed == 0.0


def test_small_offset_is_corrected_steering_back(real_map):
    """Starting 0.5 m right of the path the tracker drives, steers left (positive) first, and converges
    to within 2 cm."""
    run = drive(real_map.route('moc1119_export_yard_to_crane'), lateral_offset_m=-0.5, max_s=120.0)
    assert run.outputs[0].state == STATE_DRIVING
    assert run.cmd_steer[1] > 0.0
    assert np.abs(run.cross_track[run.s > 30.0]).max() < 0.02
    assert run.stop_error < 0.03
