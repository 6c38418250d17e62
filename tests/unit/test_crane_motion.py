"""crane.motion: time-optimal profiles within their limits, shaped moves that end where they should and
leave no sway in the pendulum model, transfers that clear every obstacle with the margin."""
import math

import numpy as np
import pytest

from smartgate_core.crane.layout import Obstacle, Pose2D
from smartgate_core.crane.motion import (GRID_S, LoadShape, PlanLimits, ShapedMove, Trapezoid, Waypoint,
                                         clearance_violations, fastest_shaped, plan_landing, plan_stop, plan_transfer,
                                         sway_model)
from smartgate_core.crane.params import CraneParams
from smartgate_core.crane.shaping import zv

CRANE = CraneParams()
BOX = LoadShape(12.192, 2.438, 2.591)


def sampled(move, duration):
    t = np.arange(0.0, duration + 1.0, 0.001)
    return t, *move.sample(t)


@pytest.mark.parametrize('distance, expected', [(10.0, 10.0 / 1.167 + 1.167 / 0.5), (0.5, 2.0 * math.sqrt(0.5 / 0.5)),
                                                (-3.0, 3.0 / 1.167 + 1.167 / 0.5)])
def test_trapezoid_is_time_optimal_within_its_limits(distance, expected):
    move = Trapezoid.fastest(2.0, distance, 1.167, 0.5)
    assert move.duration_s == pytest.approx(expected)
    t, p, v, a = sampled(move, move.duration_s)
    assert np.abs(v).max() <= 1.167 + 1e-9 and np.abs(a).max() <= 0.5 + 1e-9
    assert p[-1] == pytest.approx(2.0 + distance)
    # bang-(coast-)bang at the limits: full acceleration until the peak speed, which is the top speed
    # or, on a short move, the speed that leaves just the room to brake
    peak = min(1.167, math.sqrt(abs(distance) * 0.5))
    assert np.abs(v).max() == pytest.approx(peak, abs=1e-6)
    ramping = (np.abs(v) < peak - 1e-3) & (t > 1e-3) & (t < move.duration_s - 1e-3)
    assert np.allclose(np.abs(a[ramping]), 0.5)


def test_shaped_move_ends_exactly_and_within_the_limits():
    omega = math.sqrt(9.81 / 12.0)
    move = fastest_shaped(0.0, 10.0, 1.167, 0.5, lambda ramp, decel: (zv(omega), zv(omega)))
    t, p, v, a = sampled(move, move.duration_s)
    assert p[-1] == pytest.approx(10.0, abs=1e-9) and v[-1] == 0.0
    assert np.abs(v).max() <= 1.167 + 1e-9 and np.abs(a).max() <= 0.5 + 1e-9
    # costs less than the shaper's half period more than the rigid move
    assert move.duration_s - Trapezoid.fastest(0.0, 10.0, 1.167, 0.5).duration_s < math.pi / omega


def test_zv_move_leaves_no_sway_in_the_model_and_a_trapezoid_does():
    rope = 12.0
    omega = math.sqrt(9.81 / rope)
    shaped = ShapedMove.build(0.0, 10.0, 1.167, 1.0, zv(omega), zv(omega))
    rigid = Trapezoid.fastest(0.0, 10.0, 1.167, 0.5)
    for move, bound in ((shaped, (0.0, 0.005)), (rigid, (0.3, 3.0))):
        t = np.arange(0.0, move.duration_s + GRID_S, GRID_S)
        _, _, a = move.sample(t)
        s, sd = sway_model(t, a, np.full_like(t, rope), np.zeros_like(t))
        amplitude = math.hypot(s[-1], sd[-1] / omega)
        assert bound[0] <= amplitude <= bound[1]


def test_transfer_clears_obstacles_and_overlaps_hoisting_with_travel():
    """A box from beside a 2.9 m stack, over it, onto a vehicle deck: it rises to the stack's top plus
    margin plus its own height, never lower over the stack, and starts travelling before the hoist
    has reached that height (the first metres are clear)."""
    stack = Obstacle(Pose2D(0.0, 5.0), 12.192, 2.438, 2.896)
    deck = Obstacle(Pose2D(0.0, 0.0), 15.0, 3.0, 1.4)
    start, goal = Waypoint(0.0, 8.5, 2.591 + 0.5), Waypoint(0.0, 0.0, 1.4 + 2.591 + 0.4)
    for shaper in ('none', 'zv'):
        motion = plan_transfer(start, goal, BOX, [stack, deck], PlanLimits(CRANE, True, shaper), 0.5)
        assert motion.z.max() == pytest.approx(2.896 + 0.5 + 2.591, abs=1e-6)
        assert not clearance_violations(motion.t_s, motion.x, motion.y, motion.z, start, goal, BOX, [stack, deck],
                                        0.5).any()
        moving = np.abs(motion.y - start.y_m) > 0.01
        assert motion.z[np.argmax(moving)] < motion.z.max() - 0.05
        assert motion.y[-1] == pytest.approx(0.0, abs=1e-9) and motion.z[-1] == pytest.approx(goal.z_m)
        assert np.abs(motion.vz).max() <= CRANE.hoist_speed_laden_mps + 1e-9
        assert np.abs(motion.vy).max() <= CRANE.trolley_speed_mps + 1e-9


def test_clearance_check_sees_a_load_too_low():
    stack = Obstacle(Pose2D(0.0, 5.0), 12.192, 2.438, 2.896)
    t = np.linspace(0.0, 1.0, 11)
    y = np.linspace(8.0, 2.0, 11)
    low = clearance_violations(t, np.zeros(11), y, np.full(11, 5.0), Waypoint(0, 8, 5), Waypoint(0, 2, 5), BOX,
                               [stack], 0.5)
    high = clearance_violations(t, np.zeros(11), y, np.full(11, 6.0), Waypoint(0, 8, 6), Waypoint(0, 2, 6), BOX,
                                [stack], 0.5)
    assert low.any() and not high.any()


def test_shaped_transfer_while_hoisting_ends_at_rest_in_the_model():
    """Hoisting and lowering during the travel change the rope length by ~1.5 m; the fitted shaper
    still leaves the model within a centimetre, where the rigid-load plan leaves decimetres."""
    deck = Obstacle(Pose2D(0.0, 0.0), 15.0, 3.0, 1.4)
    start, goal = Waypoint(0.0, 5.0, 2.591 + 0.5), Waypoint(0.0, 0.0, 1.4 + 2.591 + 0.4)
    amplitude = {}
    for shaper in ('none', 'zv'):
        m = plan_transfer(start, goal, BOX, [deck], PlanLimits(CRANE, True, shaper), 0.5)
        omega = math.sqrt(9.81 / m.rope_m[-1])
        amplitude[shaper] = math.hypot(m.sway_y[-1], m.sway_vy[-1] / omega)
        assert np.ptp(m.rope_m) > 1.0
    assert amplitude['zv'] < 0.01 < 0.2 < amplitude['none']


def test_landing_corrects_before_touch_down():
    hover = Waypoint(0.0, 0.0, 4.4)
    goal = Waypoint(0.03, -0.02, 4.0 - 0.15, 0.003)
    m = plan_landing(hover, goal, 4.0, 0.15, PlanLimits(CRANE, True, 'zv'))
    touch = np.argmax(m.z <= 4.0)
    assert m.x[touch] == pytest.approx(0.03, abs=1e-6) and m.y[touch] == pytest.approx(-0.02, abs=1e-6)
    assert np.abs(m.vz).max() <= 0.15 + 1e-9


def test_stop_brakes_at_the_planned_decelerations():
    m = plan_stop(Waypoint(1.0, 2.0, 6.0), 3.0, -1.0, 0.5, CRANE)
    assert m.duration_s == pytest.approx(3.0 / CRANE.gantry_accel_mps2, abs=GRID_S)
    assert m.x[-1] == pytest.approx(1.0 + 3.0 ** 2 / (2 * CRANE.gantry_accel_mps2), abs=1e-6)
    assert m.y[-1] == pytest.approx(2.0 - 1.0 / (2 * CRANE.trolley_accel_mps2), abs=1e-6)
    assert m.vx[-1] == m.vy[-1] == m.vz[-1] == 0.0
