"""Baseline steering laws for the route benchmark: the same speed handling as RouteTracker, another
steering law."""
from __future__ import annotations

import math

from .controller import RouteTracker


class PurePursuitTracker(RouteTracker):
    """Baseline for benchmarks: textbook pure pursuit (fixed lookahead, no regulation, no feed-forward).

    Steers the rear axle onto the arc through the path point `lookahead_m` ahead:
    delta = atan(2 L sin(alpha) / lookahead). Speed handling is RouteTracker's, so a comparison
    measures the steering law alone.
    """

    lookahead_m = 10.0

    def _steer(self, x_m, y_m, yaw_rad, speed_mps, path_curvature):
        p = self.params
        gx, gy, _, _, _ = self.route.sample(self._s + self.lookahead_m)
        alpha = math.atan2(gy - y_m, gx - x_m) - yaw_rad
        steer = math.atan2(2.0 * p.wheelbase_m * math.sin(alpha), self.lookahead_m)
        return max(-p.max_steer_rad, min(p.max_steer_rad, steer))
