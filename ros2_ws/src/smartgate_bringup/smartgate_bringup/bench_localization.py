"""`smartgate bench localization`: the localization measured in the fleet-scale simulator.

Seeded drives along the mốc 1119-1120 driverless export lane at 30 km/h (the vehicle steered on
ground truth, so every run covers the same ground at the same speed), with the core Localizer fed
exactly as the localization node feeds it. Three scenarios, each on its own seeds:
  rtk        open sky: RTK fixed throughout;
  outage60   a 60 s GNSS outage at full speed, bridged by 5G (ranges and fixes), odometry and IMU;
  multipath  30 s of reflections: RTK float (a slowly wandering error) with unflagged 2-10 m jumps.
A GNSS-only baseline runs on the same data in the same run: the newest fix moved to base_link with
the newest dual-antenna heading, extrapolated at the velocity of the last two fixes for up to
GNSS_ONLY_COAST_S (as a receiver coasts), then held. Figures are true errors of base_link.
"""
from __future__ import annotations

import math
import platform
import time
from pathlib import Path

import numpy as np

from smartgate_core.simulation.closed_loop import CONTROL_PERIOD_S, feed
from smartgate_core.driving.controller import ControllerParams, RouteTracker
from smartgate_core.localization.estimator import EstimatorParams
from smartgate_core.lane_map import load_map
from smartgate_core.localization.localizer import MODE_RTK_FIXED, Localizer, LocalizerParams
from smartgate_core.route import Route
from smartgate_core.simulation.sensors import GnssEnvironment, GnssParams
from smartgate_core.simulation.vehicle import VehicleSimulator
from smartgate_core.driving.command import DriveCommand
from smartgate_core.simulation.vehicle_model import VehicleParams, VehicleState

FULL_SPEED_MPS = 30.0 / 3.6
EVENT_START_S = 25.0            # outages and multipath begin once the vehicle runs at 30 km/h [s]
GNSS_ONLY_COAST_S = 1.0         # the baseline extrapolates its last fix this long, then holds it [s]


def _lane_route(lane_map):
    """The driverless export lane as one 30 km/h route."""
    lane = next(f for f in lane_map.of_kind('lane') if f.properties['driverless']
                and f.properties['direction'] == 'export')
    pts = np.asarray(lane.geometry.coords)
    dense = np.vstack([np.linspace(pts[i], pts[i + 1], max(2, int(np.hypot(*(pts[i + 1] - pts[i]))) + 1))[:-1]
                       for i in range(len(pts) - 1)] + [pts[-1:]])
    return Route.from_polyline('bench_export_lane', dense, FULL_SPEED_MPS)


class _Timed:
    """Wraps a Localizer so each update call is timed (the core's cost, not the simulator's)."""

    def __init__(self, loc):
        self.loc, self.samples = loc, []

    def __getattr__(self, name):
        method = getattr(self.loc, name)
        if name not in ('imu', 'odometry', 'gnss', 'gnss_heading', 'fiveg_fix', 'fiveg_ranges'):
            return method

        def timed(*args):
            started = time.perf_counter()
            result = method(*args)
            self.samples.append(time.perf_counter() - started)
            return result
        return timed


def _run(route, sites, seed, environment, duration_s):
    vehicle = VehicleParams()
    start = VehicleState(float(route.xy[0, 0]), float(route.xy[0, 1]), float(route.heading[0]))
    sim = VehicleSimulator(vehicle, start, seed, gnb_sites=sites, gnss_environment=environment)
    loc = Localizer(LocalizerParams(), EstimatorParams(), sites)
    timed = _Timed(loc)
    tracker = RouteTracker(ControllerParams())
    tracker.set_route(route, False)
    lever = GnssParams().lever_arm_m
    rows, every = [], round(CONTROL_PERIOD_S / sim.dt_s)
    fixes, heading = [], None           # GNSS-only baseline: (t, base x, base y) of the last two fixes
    command = DriveCommand()
    while sim.t_s < duration_s:
        out = sim.step(command)
        feed(timed, out)
        g = out.gnss
        if g is not None and math.isfinite(g.x_m):
            heading = g.heading_rad if math.isfinite(g.heading_rad) else heading
            yaw = heading if heading is not None else out.truth.yaw_rad
            fixes = (fixes + [(out.t_s, g.x_m - math.cos(yaw) * lever[0] + math.sin(yaw) * lever[1],
                               g.y_m - math.sin(yaw) * lever[0] - math.cos(yaw) * lever[1])])[-2:]
        if sim.step_count % every:
            continue
        tr = out.truth
        command = tracker.step(tr.x_m, tr.y_m, tr.yaw_rad, tr.speed_mps, CONTROL_PERIOD_S).command
        est = loc.estimator
        if not est.initialized or len(fixes) < 2:
            continue
        (t0, x0, y0), (t1, x1, y1) = fixes
        coast = min(out.t_s - t1, GNSS_ONLY_COAST_S) / (t1 - t0)
        gnss_only = (x1 + (x1 - x0) * coast, y1 + (y1 - y0) * coast)
        x, y, yaw = est.pose_at(out.t_s, loc.speed_mps, loc.yaw_rate_radps)
        rows.append((out.t_s, math.hypot(x - tr.x_m, y - tr.y_m),
                     abs(math.degrees(math.remainder(yaw - tr.yaw_rad, 2 * math.pi))),
                     est.protection_level_m, loc.mode(), tr.speed_mps,
                     math.hypot(gnss_only[0] - tr.x_m, gnss_only[1] - tr.y_m), x - tr.x_m, y - tr.y_m,
                     float(sim.gnss.jump_active)))
    return np.asarray(rows), timed.samples


def run(root: Path, seeds: int, say=print) -> dict:
    wall0 = time.monotonic()
    lane_map = load_map(root / 'maps' / 'moc_1119_1120.geojson')
    sites = lane_map.gnb_sites(root / 'config' / 'gnb_sites.yaml')
    route = _lane_route(lane_map)
    scenarios = {
        'rtk': (GnssEnvironment(), 75.0),
        'outage60': (GnssEnvironment(outage_windows=[(EVENT_START_S, EVENT_START_S + 60.0)]), 90.0),
        'multipath': (GnssEnvironment(multipath_windows=[(EVENT_START_S, EVENT_START_S + 30.0)]), 60.0),
    }
    results, updates = {}, []
    for name, (env, duration) in scenarios.items():
        runs = []
        for seed in range(seeds):
            rows, samples = _run(route, sites, 1000 * (list(scenarios).index(name) + 1) + seed, env, duration)
            runs.append(rows)
            updates += samples
        results[name] = runs
        say(f'{name:9s} {seeds} seeded drives done')
    every = np.vstack([r for runs in results.values() for r in runs])
    rtk = np.vstack([r[(r[:, 4] == MODE_RTK_FIXED) & (r[:, 5] > 0.5)] for r in results['rtk']])
    inside = [r[(r[:, 0] >= EVENT_START_S) & (r[:, 0] < EVENT_START_S + 60.0)] for r in results['outage60']]
    outage = np.vstack(inside)
    steps = []
    for r in results['multipath']:
        d = np.hypot(np.diff(r[:, 7]), np.diff(r[:, 8]))      # step of the estimate error between epochs
        steps.append(d[(r[1:, 0] >= EVENT_START_S) & (r[1:, 0] < EVENT_START_S + 30.0)])
    jumps_seen = int(sum((r[:, 9] > 0).sum() for r in results['multipath']))
    multipath = np.vstack([r[(r[:, 0] >= EVENT_START_S) & (r[:, 0] < EVENT_START_S + 30.0)]
                           for r in results['multipath']])
    figures = {
        'rtk_p95_m': round(float(np.percentile(rtk[:, 1], 95)), 4),
        'rtk_yaw_p95_deg': round(float(np.percentile(rtk[:, 2], 95)), 4),
        'outage60_p95_m': round(float(np.percentile(outage[:, 1], 95)), 4),
        'outage60_max_m': round(float(outage[:, 1].max()), 4),
        'multipath_max_jump_m': round(float(np.concatenate(steps).max()), 4),
        'multipath_p95_m': round(float(np.percentile(multipath[:, 1], 95)), 4),
        'gnss_only_multipath_p95_m': round(float(np.percentile(multipath[:, 6], 95)), 4),
        'integrity_ratio': round(float(np.mean(every[:, 1] < every[:, 3])), 5),
        'gnss_only_rtk_p95_m': round(float(np.percentile(rtk[:, 6], 95)), 4),
        'gnss_only_outage60_p95_m': round(float(np.percentile(outage[:, 6], 95)), 2),
        'update_median_us': round(float(np.median(updates)) * 1e6, 1),
        'outage60_speed_kmh_mean': round(float(outage[:, 5].mean() * 3.6), 1),
        'multipath_epochs_with_a_jump': jumps_seen,
        'protection_level_median_m': {'rtk': round(float(np.median(rtk[:, 3])), 3),
                                      'outage60': round(float(np.median(outage[:, 3])), 3)},
        'epochs': int(len(every)), 'seeds_per_scenario': seeds, 'route': 'mốc 1119-1120 driverless export lane',
        'gnb_sites': len(sites), 'python': platform.python_version(),
        'wall_seconds': round(time.monotonic() - wall0, 1),
    }
    return figures
