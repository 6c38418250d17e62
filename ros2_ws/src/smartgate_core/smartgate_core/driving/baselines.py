"""Baseline steering laws for the route benchmark, each with the speed handling of RouteTracker so a
comparison measures the steering law alone. Their parameters are tuned by the benchmark's grid
search (on seeds disjoint from the evaluation seeds), not set here.

- Pure pursuit with a speed-scaled lookahead, as Nav2's Regulated Pure Pursuit:
  lookahead = clamp(v t, min, max); steer onto the arc through the path point that far ahead,
  delta = atan(2 L sin(alpha) / d), d the distance to that point (Coulter 1992).
- Stanley (Hoffmann et al. 2007, the DARPA Grand Challenge controller): the front axle is steered
  by its heading error plus atan(k e / (k_soft + v)) of its cross-track error e.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..params import doc
from ..route import wrap_angle
from .controller import ControllerParams, RouteTracker


@dataclass(frozen=True)
class PurePursuitParams:
    lookahead_time_s: float = doc(1.5, 'lookahead distance per speed [s]')
    min_lookahead_m: float = doc(4.0, 'shortest lookahead [m]')
    max_lookahead_m: float = doc(15.0, 'longest lookahead [m]')


@dataclass(frozen=True)
class StanleyParams:
    gain_1ps: float = doc(2.0, 'cross-track gain k [1/s]')
    softening_mps: float = doc(1.0, 'k_soft, keeps the gain finite at low speed [m/s]')


class PurePursuitTracker(RouteTracker):
    """Regulated-pure-pursuit steering with a speed-scaled lookahead."""

    def __init__(self, params: ControllerParams, baseline: PurePursuitParams = PurePursuitParams()):
        super().__init__(params)
        self.baseline = baseline

    def _steer(self, x_m, y_m, yaw_rad, speed_mps, path_curvature, dt_s):
        p, b = self.params, self.baseline
        lookahead = min(max(speed_mps * b.lookahead_time_s, b.min_lookahead_m), b.max_lookahead_m)
        gx, gy, _, _, _ = self.route.sample(self._s + lookahead)
        distance = max(math.hypot(gx - x_m, gy - y_m), 1e-3)
        alpha = math.atan2(gy - y_m, gx - x_m) - yaw_rad
        steer = math.atan(2.0 * p.wheelbase_m * math.sin(alpha) / distance)
        return max(-p.max_steer_rad, min(p.max_steer_rad, steer))


class StanleyTracker(RouteTracker):
    """Stanley steering on the front axle's errors.

    The route is the path of base_link (the rear axle); the path the front axle takes when the rear
    axle follows it exactly is p(s) + L t(s), whose heading is psi(s) + atan(L kappa(s)). The front
    axle's errors are taken against that path, as Stanley needs them.
    """

    def __init__(self, params: ControllerParams, baseline: StanleyParams = StanleyParams()):
        super().__init__(params)
        self.baseline = baseline

    def _steer(self, x_m, y_m, yaw_rad, speed_mps, path_curvature, dt_s):
        p, b = self.params, self.baseline
        rx, ry, heading, curvature, _ = self.route.sample(self._s)
        front_heading = heading + math.atan(p.wheelbase_m * curvature)
        ex = x_m + p.wheelbase_m * math.cos(yaw_rad) - (rx + p.wheelbase_m * math.cos(heading))
        ey = y_m + p.wheelbase_m * math.sin(yaw_rad) - (ry + p.wheelbase_m * math.sin(heading))
        cross_track = -math.sin(front_heading) * ex + math.cos(front_heading) * ey      # left positive
        heading_error = float(wrap_angle(yaw_rad - front_heading))
        steer = -heading_error - math.atan(b.gain_1ps * cross_track / (b.softening_mps + speed_mps))
        return max(-p.max_steer_rad, min(p.max_steer_rad, steer))
