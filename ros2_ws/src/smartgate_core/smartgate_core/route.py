"""A route as the controller sees it: a uniformly resampled path with heading, curvature and limits.

Everything is in the map frame (x east, y north, metres; headings in radians from +x, REP 103).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

RESAMPLE_STEP_M = 0.25      # path sample spacing [m]
SMOOTHING_WINDOW_M = 2.0    # heading/curvature are averaged over this length: polyline input has
                            # piecewise-constant heading, which would make curvature spiky [m]
MAX_PATH_GAP_M = 5.0        # consecutive input points further apart than this are a jump [m]


class PathError(ValueError):
    """A path that cannot be driven: empty, not finite, with a jump, or off the map."""


def wrap_angle(a):
    """Wrap an angle [rad] to [-pi, pi)."""
    return (np.asarray(a) + np.pi) % (2.0 * np.pi) - np.pi


@dataclass
class Projection:
    """Where a point stands relative to the path."""

    s_m: float                # arc length of the closest path point [m]
    lateral_m: float          # signed offset from the path, left positive [m]
    heading_rad: float        # path heading at s
    curvature_1pm: float      # path curvature at s [1/m], left positive
    index: int


@dataclass
class Route:
    """A drivable path: samples every RESAMPLE_STEP_M with heading, curvature and speed limit."""

    route_id: str
    xy: np.ndarray                     # (N, 2) [m]
    speed_limit_mps: np.ndarray        # (N,) [m/s]
    node_ids: list = field(default_factory=list)
    stop_node_id: str = ''
    s: np.ndarray = field(init=False)
    heading: np.ndarray = field(init=False)
    curvature: np.ndarray = field(init=False)

    def __post_init__(self):
        d = np.diff(self.xy, axis=0)
        seg = np.hypot(d[:, 0], d[:, 1])
        self.s = np.concatenate([[0.0], np.cumsum(seg)])
        # Central differences of the unwrapped heading give curvature = d(heading)/ds.
        dx, dy = np.gradient(self.xy[:, 0], self.s), np.gradient(self.xy[:, 1], self.s)
        window = max(1, int(SMOOTHING_WINDOW_M / max(self.s[-1] / (len(self.s) - 1), 1e-6))) | 1
        unwrapped = _moving_average(np.unwrap(np.arctan2(dy, dx)), window)
        self.heading = wrap_angle(unwrapped)
        self.curvature = _moving_average(np.gradient(unwrapped, self.s), window)

    @property
    def length_m(self) -> float:
        return float(self.s[-1])

    @classmethod
    def from_polyline(cls, route_id, points_xy, speed_limit_mps, node_ids=(), stop_node_id='',
                      step_m=RESAMPLE_STEP_M):
        """Resample a polyline (with a speed limit per input vertex segment start) uniformly."""
        pts = validate_path(points_xy, route_id)
        limits = np.broadcast_to(np.asarray(speed_limit_mps, dtype=float), (len(pts),))
        seg = np.hypot(*np.diff(pts, axis=0).T)
        keep = np.concatenate([[True], seg > 1e-6])     # drop repeated vertices
        pts, limits = pts[keep], limits[keep]
        s_in = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
        n = max(2, int(np.ceil(s_in[-1] / step_m)) + 1)
        s_out = np.linspace(0.0, s_in[-1], n)
        xy = np.column_stack([np.interp(s_out, s_in, pts[:, 0]), np.interp(s_out, s_in, pts[:, 1])])
        # a sample takes the limit of the input segment it lies on
        seg_idx = np.clip(np.searchsorted(s_in, s_out, side='right') - 1, 0, len(pts) - 1)
        return cls(route_id, xy, limits[seg_idx].copy(), list(node_ids), stop_node_id)

    def sample(self, s_m):
        """(x, y, heading, curvature, speed limit) at arc length s_m, clamped to the path."""
        s = float(np.clip(s_m, 0.0, self.s[-1]))
        i = min(int(s / (self.s[-1] / (len(self.s) - 1))), len(self.s) - 2)
        t = (s - self.s[i]) / max(self.s[i + 1] - self.s[i], 1e-9)
        x, y = self.xy[i] + t * (self.xy[i + 1] - self.xy[i])
        dh = wrap_angle(self.heading[i + 1] - self.heading[i])
        return (float(x), float(y), float(wrap_angle(self.heading[i] + t * dh)),
                float(self.curvature[i] + t * (self.curvature[i + 1] - self.curvature[i])),
                float(min(self.speed_limit_mps[i], self.speed_limit_mps[i + 1])))

    def project(self, x, y, s_hint_m=None, window_m=30.0) -> Projection:
        """Closest point of the path to (x, y); search near s_hint_m when given (O(window))."""
        if s_hint_m is None:
            lo, hi = 0, len(self.s)
        else:
            step = self.s[-1] / (len(self.s) - 1)
            c = int(np.clip(s_hint_m, 0.0, self.s[-1]) / step)
            w = int(window_m / step) + 1
            lo, hi = max(0, c - w), min(len(self.s), c + w + 1)
        seg_a = self.xy[lo:hi - 1] if hi - lo > 1 else self.xy[lo:lo + 1]
        seg_b = self.xy[lo + 1:hi] if hi - lo > 1 else self.xy[lo:lo + 1]
        ab = seg_b - seg_a
        ab2 = np.maximum(np.einsum('ij,ij->i', ab, ab), 1e-12)
        p = np.array([x, y])
        t = np.clip(np.einsum('ij,ij->i', p - seg_a, ab) / ab2, 0.0, 1.0)
        closest = seg_a + t[:, None] * ab
        d2 = np.einsum('ij,ij->i', p - closest, p - closest)
        k = int(np.argmin(d2))
        i = lo + k
        s = self.s[i] + t[k] * (self.s[min(i + 1, len(self.s) - 1)] - self.s[i])
        _, _, heading, curvature, _ = self.sample(s)
        dx, dy = x - closest[k, 0], y - closest[k, 1]
        lateral = -np.sin(heading) * dx + np.cos(heading) * dy
        return Projection(float(s), float(lateral), heading, curvature, i)


def _moving_average(values, window):
    """Centred moving average that holds the end values (no shrinking at the ends)."""
    if window <= 1 or len(values) < window:
        return values
    padded = np.pad(values, window // 2, mode='edge')
    return np.convolve(padded, np.ones(window) / window, mode='valid')


def validate_path(points_xy, what='path', max_gap_m=MAX_PATH_GAP_M) -> np.ndarray:
    """Return the points as an (N, 2) float array, or raise PathError saying what is wrong."""
    try:
        pts = np.asarray(points_xy, dtype=float)
    except (TypeError, ValueError) as exc:
        raise PathError(f'{what}: points are not numbers ({exc})') from None
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 2:
        raise PathError(f'{what}: needs at least 2 points of (x, y), got shape {pts.shape}')
    bad = np.flatnonzero(~np.isfinite(pts).all(axis=1))
    if bad.size:
        raise PathError(f'{what}: point {int(bad[0])} is not finite: {pts[bad[0]].tolist()}')
    gaps = np.hypot(*np.diff(pts, axis=0).T)
    if gaps.sum() < 1.0:
        raise PathError(f'{what}: shorter than 1 m ({gaps.sum():.3f} m)')
    jump = np.flatnonzero(gaps > max_gap_m)
    if jump.size:
        j = int(jump[0])
        raise PathError(f'{what}: jump of {gaps[j]:.1f} m between points {j} and {j + 1} '
                        f'(more than {max_gap_m} m)')
    return pts
