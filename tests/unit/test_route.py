"""route: uniform resampling, heading/curvature, projection (left positive) and path validation."""
import math

import numpy as np
import pytest

from smartgate_core.route import RESAMPLE_STEP_M, PathError, Route, validate_path, wrap_angle


def circle_arc(radius, start_deg, end_deg, step_m=1.0, centre=(0.0, 0.0)):
    """Points every ~step_m on a circle, counter-clockwise when end > start."""
    a = np.radians(np.linspace(start_deg, end_deg, int(abs(math.radians(end_deg - start_deg)) * radius / step_m) + 1))
    return np.column_stack([centre[0] + radius * np.cos(a), centre[1] + radius * np.sin(a)])


def line(start, end, step_m=1.0):
    """A straight polyline with vertices every <= step_m (from_polyline treats gaps > 5 m as jumps)."""
    n = int(math.ceil(math.dist(start, end) / step_m)) + 1
    return np.column_stack([np.linspace(start[0], end[0], n), np.linspace(start[1], end[1], n)])


def test_resampling_is_uniform_and_at_most_the_step():
    """Samples are spaced evenly in distance along the polyline, no more than 0.25 m apart, and start and
    end at the polyline's ends (only the chords across the two corners are shorter)."""
    route = Route.from_polyline('r', [(0, 0), (3.3, 0), (3.3, 4.0), (7.0, 4.0), (10.1, 4.0)], 5.0)
    polyline_length = 3.3 + 4.0 + 6.8
    n = int(math.ceil(polyline_length / RESAMPLE_STEP_M)) + 1
    spacing = np.hypot(*np.diff(route.xy, axis=0).T)
    assert RESAMPLE_STEP_M == 0.25
    assert len(route.xy) == n
    assert spacing.max() <= 0.25 + 1e-9
    assert np.sum(~np.isclose(spacing, polyline_length / (n - 1))) <= 2
    assert route.xy[0] == pytest.approx([0, 0]) and route.xy[-1] == pytest.approx([10.1, 4.0])
    assert np.allclose(np.diff(route.s), spacing)          # s is the arc length of the samples


def test_length_of_a_straight_line():
    """A straight polyline (with intermediate and repeated vertices) keeps its true length."""
    route = Route.from_polyline('r', [(1, 2), (4, 6), (4, 6), (7, 10)], 5.0)
    assert route.length_m == pytest.approx(10.0, abs=1e-9)
    assert len(route.s) == 41                      # 10 m / 0.25 m + 1
    assert np.allclose(route.heading, math.atan2(4, 3))
    assert np.allclose(route.curvature, 0.0, atol=1e-9)


def test_curvature_of_a_65m_circle_away_from_the_ends():
    """A circle of radius 65 m sampled every 1 m: curvature 1/65 within 3 % (left turn positive), once
    2 m (the smoothing window) from the ends; a clockwise circle gives -1/65."""
    ccw = Route.from_polyline('ccw', circle_arc(65.0, -90, 0), 5.0)
    inner = (ccw.s > 3.0) & (ccw.s < ccw.length_m - 3.0)
    assert ccw.length_m == pytest.approx(65.0 * math.pi / 2, rel=1e-3)
    assert np.all(np.abs(ccw.curvature[inner] * 65.0 - 1.0) < 0.03)
    assert ccw.heading[0] == pytest.approx(0.0, abs=0.02)          # heading east at the bottom of the circle
    assert ccw.heading[-1] == pytest.approx(math.pi / 2, abs=0.02)  # heading north at the east point
    cw = Route.from_polyline('cw', circle_arc(65.0, 90, 0), 5.0)
    inner = (cw.s > 3.0) & (cw.s < cw.length_m - 3.0)
    assert np.all(np.abs(cw.curvature[inner] * -65.0 - 1.0) < 0.03)


def test_projection_gives_s_and_left_positive_lateral():
    """On an eastbound line, a point 2 m north is +2 m (left), 2 m south -2 m; s is the distance along."""
    route = Route.from_polyline('east', line((0, 0), (20, 0)), 5.0)
    left = route.project(5.3, 2.0)
    right = route.project(12.0, -2.0)
    assert left.s_m == pytest.approx(5.3, abs=1e-9) and left.lateral_m == pytest.approx(2.0, abs=1e-9)
    assert right.s_m == pytest.approx(12.0, abs=1e-9) and right.lateral_m == pytest.approx(-2.0, abs=1e-9)
    assert left.heading_rad == pytest.approx(0.0, abs=1e-9)
    # a northbound line: west is on the left
    north = Route.from_polyline('north', line((0, 0), (0, 20)), 5.0)
    p = north.project(-1.5, 7.0)
    assert p.s_m == pytest.approx(7.0, abs=1e-9) and p.lateral_m == pytest.approx(1.5, abs=1e-9)
    assert p.heading_rad == pytest.approx(math.pi / 2, abs=1e-9)


def test_projection_on_a_curve_and_with_a_hint():
    """Inside a left-turning 65 m circle is left (+); the hinted search finds the same point."""
    route = Route.from_polyline('ccw', circle_arc(65.0, -90, 0), 5.0)
    a = math.radians(-45)
    x, y = 64.0 * math.cos(a), 64.0 * math.sin(a)                # 1 m towards the centre
    full = route.project(x, y)
    hinted = route.project(x, y, s_hint_m=full.s_m + 10.0)
    assert full.lateral_m == pytest.approx(1.0, abs=0.01)
    assert full.s_m == pytest.approx(65.0 * math.pi / 4, abs=0.05)
    assert full.curvature_1pm == pytest.approx(1 / 65.0, rel=0.03)
    assert hinted.s_m == pytest.approx(full.s_m, abs=1e-9) and hinted.index == full.index


def test_sample_clamps_and_interpolates():
    """sample(s) is clamped to the path ends and interpolates position along it."""
    route = Route.from_polyline('east', line((0, 0), (20, 0)), 5.0)
    assert route.sample(-3.0)[:2] == pytest.approx((0.0, 0.0))
    assert route.sample(99.0)[:2] == pytest.approx((20.0, 0.0))
    x, y, heading, curvature, limit = route.sample(7.6)
    assert (x, y, heading, curvature, limit) == pytest.approx((7.6, 0.0, 0.0, 0.0, 5.0), abs=1e-9)


def test_speed_limit_follows_the_input_segments():
    """Each sample carries the limit of the input segment it lies on; sample() takes the lower neighbour."""
    route = Route.from_polyline('r', [(0, 0), (4, 0), (8, 0)], [3.0, 1.0, 1.0])
    assert np.all(route.speed_limit_mps[route.s < 4.0 - 1e-9] == 3.0)
    assert np.all(route.speed_limit_mps[route.s >= 4.0 - 1e-9] == 1.0)
    assert route.sample(2.0)[4] == 3.0
    assert route.sample(3.9)[4] == 1.0            # the next sample (4.0 m) is already slower
    assert route.sample(6.0)[4] == 1.0


@pytest.mark.parametrize('points, message', [
    ([], 'at least 2 points'),
    ([(0, 0)], 'at least 2 points'),
    ([(0, 0, 0), (1, 1, 1)], 'at least 2 points'),
    ([(0, 0), ('a', 1)], 'not numbers'),
    ([(0, 0), (1, 0), (2, 0), (3, math.nan), (4, 0)], 'point 3 is not finite'),
    ([(0, 0), (1, math.inf)], 'point 1 is not finite'),
    ([(0, 0), (1, 0), (2, 0), (8, 0)], 'jump of 6.0 m between points 2 and 3'),
    ([(0, 0), (0.3, 0), (0.6, 0)], 'shorter than 1 m'),
    ([(5, 5), (5, 5)], 'shorter than 1 m'),
])
def test_validate_path_names_the_problem(points, message):
    """Undrivable paths raise PathError (a ValueError) whose message starts with what was checked."""
    with pytest.raises(PathError, match=message) as info:
        validate_path(points, 'goal path')
    assert str(info.value).startswith('goal path: ')
    assert isinstance(info.value, ValueError)


def test_validate_path_accepts_a_good_path_and_from_polyline_validates():
    """A good path comes back as an (N, 2) float array; from_polyline refuses a path with a jump."""
    pts = validate_path([[0, 0], [3, 4], [6, 8]])
    assert pts.shape == (3, 2) and pts.dtype == float
    assert validate_path([(0, 0), (4.9, 0)]).shape == (2, 2)          # 4.9 m is not yet a jump
    with pytest.raises(PathError, match='my_route: jump'):
        Route.from_polyline('my_route', [(0, 0), (1, 0), (10, 0)], 5.0)


def test_wrap_angle_range():
    """wrap_angle maps any angle into a 2 pi wide range around 0, keeping its direction."""
    a = np.array([0.1, 3.0, -3.0, 7.0, -7.0, 100.0, 2 * math.pi])
    w = wrap_angle(a)
    assert np.all(w >= -math.pi) and np.all(w <= math.pi)
    assert np.allclose(np.cos(w), np.cos(a)) and np.allclose(np.sin(w), np.sin(a))
    assert wrap_angle(0.1) == pytest.approx(0.1) and wrap_angle(2 * math.pi) == pytest.approx(0.0)


def test_wrap_angle_range_is_as_documented():
    """wrap_angle's docstring says [-pi, pi): a westbound heading (pi) comes back as -pi."""
    assert wrap_angle(math.pi) == pytest.approx(-math.pi)
    assert wrap_angle(-math.pi) == pytest.approx(-math.pi)
    assert wrap_angle(math.pi - 1e-9) == pytest.approx(math.pi - 1e-9)
