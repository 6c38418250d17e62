"""`smartgate bench localization`: the localization measured in the fleet-scale simulator.

Seeded drives along the mốc 1119-1120 driverless export lane at 30 km/h (the vehicle steered on
ground truth, so every run covers the same ground at the same speed), with the core Localizer fed
exactly as the localization node feeds it. Three scenarios, each on its own evaluation seeds
(1000 k + i for scenario k = 1, 2, 3 and i < --seeds):
  rtk        open sky: RTK fixed throughout (epochs: our Localizer in RTK_FIXED, moving);
  outage60   a 60 s GNSS outage at full speed, bridged by 5G (ranges and fixes), odometry and IMU
             (epochs: the 60 s of the outage);
  multipath  30 s of reflections: RTK float (a slowly wandering error) with unflagged 2-10 m jumps
             (epochs: the 30 s of reflections).
Figures are true errors of base_link at 20 Hz, each estimate extrapolated to the epoch as its node
would publish it.

Two baselines run in the same runs on the same sensor data, over the same epochs:
  rl_baseline_*  the comparison: a robot_localization-like EKF (localization/baseline.py: [x, y, yaw,
                 v, yaw rate] fusing wheel speed, IMU yaw rate, the dual-antenna heading as an absolute
                 yaw and GNSS moved to base_link as navsat_transform does; no 5G, no bias or scale
                 states, no float weighting, no re-anchoring). Its odometry and gyro noise are the ones
                 our Localizer assumes (`rl_baseline_tuning.fixed`); its process noise and position
                 rejection threshold are chosen by a grid search on TUNING seeds (9000 + 100 k + i,
                 disjoint from the evaluation seeds) by the sum of the three scenarios' p95 errors. The
                 grid, every result and the choice are in `rl_baseline_tuning`.
  gnss_only_*    a floor, not a comparison: the newest fix moved to base_link with the newest
                 dual-antenna heading, extrapolated at the velocity of the last two fixes for up to
                 GNSS_ONLY_COAST_S (as a receiver coasts), then held. Any dead reckoning beats it in
                 an outage.

Integrity: `integrity_ratio` is the share of all epochs whose error is below the protection level;
a large PL alone would pass it, so its tightness stands next to it: `pl_median_rtk_m` and
`pl_median_outage60_m`, the median PL over the rtk and outage60 epochs.

Cost: `update_cost_us` times every Localizer call of the evaluation drives by its type (imu, odometry,
gnss, gnss_heading, fiveg_fix, and fiveg_ranges: one call carries all gNB ranges of an epoch) with
time.perf_counter around the call alone (the core's cost, not the simulator's): median, p99 and the
number of calls, in wall-clock microseconds on the machine that runs the bench, under whatever else
runs on it (on a shared 2-core machine they are noisy, the p99 most).
`update_worst_median_us` is the largest per-type median. The tuning drives run in a process pool
first; the evaluation drives, which are timed, run one at a time after it.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from smartgate_core.simulation.closed_loop import CONTROL_PERIOD_S, feed
from smartgate_core.driving.controller import ControllerParams, RouteTracker
from smartgate_core.localization.baseline import RlBaseline, RlBaselineParams
from smartgate_core.localization.estimator import FIX_NONE, EstimatorParams
from smartgate_core.lane_map import load_map
from smartgate_core.localization.localizer import MODE_RTK_FIXED, Localizer, LocalizerParams
from smartgate_core.route import Route
from smartgate_core.simulation.sensors import GnssEnvironment, GnssParams
from smartgate_core.simulation.vehicle import VehicleSimulator
from smartgate_core.driving.command import DriveCommand
from smartgate_core.simulation.vehicle_model import VehicleParams, VehicleState

FULL_SPEED_MPS = 30.0 / 3.6
EVENT_START_S = 25.0            # outages and multipath begin once the vehicle runs at 30 km/h [s]
EVENT_DURATION_S = {'outage60': 60.0, 'multipath': 30.0}     # how long each scenario's event lasts [s]
GNSS_ONLY_COAST_S = 1.0         # the baseline extrapolates its last fix this long, then holds it [s]
UPDATE_TYPES = ('imu', 'odometry', 'gnss', 'gnss_heading', 'fiveg_fix', 'fiveg_ranges')
TUNING_SEED0 = 9000             # tuning seeds 9000 + 100 k + i; evaluation seeds 1000 k + i
TUNING_SEEDS = 2                # per scenario; every grid point runs in the same drives
# Scales of robot_localization's default process noise (pose: x, y, yaw; velocity: v, yaw rate) and
# Mahalanobis rejection thresholds of the GNSS position (inf: none, robot_localization's default)
RL_POSE_NOISE_SCALES = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
RL_VELOCITY_NOISE_SCALES = (1.0, 10.0)
RL_REJECTION_THRESHOLDS = (3.0, 5.0, 10.0, math.inf)


def _lane_route(lane_map):
    """The driverless export lane as one 30 km/h route."""
    lane = next(f for f in lane_map.of_kind('lane') if f.properties['driverless']
                and f.properties['direction'] == 'export')
    pts = np.asarray(lane.geometry.coords)
    dense = np.vstack([np.linspace(pts[i], pts[i + 1], max(2, int(np.hypot(*(pts[i + 1] - pts[i]))) + 1))[:-1]
                       for i in range(len(pts) - 1)] + [pts[-1:]])
    return Route.from_polyline('bench_export_lane', dense, FULL_SPEED_MPS)


class _Timed:
    """Wraps a Localizer so each update call is timed, by its type (the core's cost, not the simulator's)."""

    def __init__(self, loc):
        self.loc, self.samples = loc, {name: [] for name in UPDATE_TYPES}

    def __getattr__(self, name):
        method = getattr(self.loc, name)
        if name not in self.samples:
            return method
        samples = self.samples[name]

        def timed(*args):
            started = time.perf_counter()
            result = method(*args)
            samples.append(time.perf_counter() - started)
            return result
        return timed


def _feed_rl(rl, out):
    """Hand one simulator step's readings to the robot_localization-like baseline as such a setup gets
    them: odometry twist, IMU yaw rate, the dual-antenna heading as the orientation, then the fix
    (navsat_transform moves it with the latest orientation; a receiver without a fix publishes none)."""
    t = out.t_s
    if out.imu is not None:
        rl.imu(t, out.imu.yaw_rate_radps)
    if out.odometry_speed_mps is not None:
        rl.odometry(t, out.odometry_speed_mps)
    g = out.gnss
    if g is not None and g.fix_type != FIX_NONE:
        if math.isfinite(g.heading_rad):
            rl.gnss_heading(t, g.heading_rad, g.heading_sigma_rad ** 2)
        rl.gnss(t, (g.x_m, g.y_m), np.eye(2) * g.sigma_m ** 2)


def _run(route, sites, seed, environment, duration_s, rl_params=()):
    """One seeded drive: rows of (t, error [m], yaw error [deg], PL [m], mode, speed [m/s], GNSS-only
    error [m], error x, error y [m], multipath jump active) at 20 Hz, the error of a baseline per
    rl_params at the same epochs, and the Localizer's call times by type [s]."""
    vehicle = VehicleParams()
    start = VehicleState(float(route.xy[0, 0]), float(route.xy[0, 1]), float(route.heading[0]))
    sim = VehicleSimulator(vehicle, start, seed, gnb_sites=sites, gnss_environment=environment)
    loc = Localizer(LocalizerParams(), EstimatorParams(), sites)
    timed = _Timed(loc)
    rls = [RlBaseline(p) for p in rl_params]
    tracker = RouteTracker(ControllerParams())
    tracker.set_route(route, False)
    lever = GnssParams().lever_arm_m
    rows, rl_rows, every = [], [], round(CONTROL_PERIOD_S / sim.dt_s)
    fixes, heading = [], None           # GNSS-only baseline: (t, base x, base y) of the last two fixes
    command = DriveCommand()
    while sim.t_s < duration_s:
        out = sim.step(command)
        feed(timed, out)
        for rl in rls:
            _feed_rl(rl, out)
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
        rl_rows.append([_error_m(rl.pose_at(out.t_s), tr) if rl.initialized else math.nan for rl in rls])
    return np.asarray(rows), np.asarray(rl_rows).reshape(len(rows), len(rls)), timed.samples


def _error_m(pose, truth):
    """Horizontal distance of an estimated pose (x, y, yaw) from the true base_link [m]."""
    return math.hypot(pose[0] - truth.x_m, pose[1] - truth.y_m)


def _epochs(name, rows):
    """Mask of the epochs a scenario's figures are taken over (the same for every estimator)."""
    if name == 'rtk':
        return (rows[:, 4] == MODE_RTK_FIXED) & (rows[:, 5] > 0.5)
    return (rows[:, 0] >= EVENT_START_S) & (rows[:, 0] < EVENT_START_S + EVENT_DURATION_S[name])


def _rl_sensor_noise():
    """The odometry and IMU noise the baseline's messages state: what our Localizer assumes (its wheel-speed
    noise at the bench's 30 km/h, its gyro noise), so both filters trust the wheels and the gyro alike."""
    e = EstimatorParams()
    return {'odometry_speed_sigma_mps': math.hypot(e.speed_sigma_mps, e.speed_relative_sigma * FULL_SPEED_MPS),
            'imu_yaw_rate_sigma_radps': e.gyro_sigma_radps}


def _rl_params(pose_scale, velocity_scale, threshold):
    """robot_localization's default process noise scaled (pose block, velocity block), a rejection
    threshold, and our sensor noise."""
    d = RlBaselineParams()
    return dataclasses.replace(
        d, process_noise_xy_m2ps=d.process_noise_xy_m2ps * pose_scale,
        process_noise_yaw_rad2ps=d.process_noise_yaw_rad2ps * pose_scale,
        process_noise_speed_m2ps3=d.process_noise_speed_m2ps3 * velocity_scale,
        process_noise_yaw_rate_rad2ps3=d.process_noise_yaw_rate_rad2ps3 * velocity_scale,
        position_rejection_threshold=threshold, **_rl_sensor_noise())


def _json_threshold(threshold):
    """A rejection threshold for the JSON: null for none (inf is not JSON)."""
    return None if math.isinf(threshold) else threshold


def _tuning_drive(job):
    """One tuning drive (a process-pool job): the error of every grid point at the scenario's epochs."""
    name, seed, environment, duration_s, params, route, sites = job
    rows, rl_err, _ = _run(route, sites, seed, environment, duration_s, params)
    return rl_err[_epochs(name, rows)]


def _tune_rl(route, sites, scenarios, say):
    """Grid search of the baseline on the tuning seeds: every grid point runs in the same drives (the
    sensor data do not depend on the estimate: the vehicle is steered on ground truth), the drives in a
    process pool (nothing of them is timed). Returns the chosen parameters and the report for the JSON."""
    wall0 = time.monotonic()
    grid = list(itertools.product(RL_POSE_NOISE_SCALES, RL_VELOCITY_NOISE_SCALES, RL_REJECTION_THRESHOLDS))
    params = [_rl_params(*g) for g in grid]
    seeds = {name: [TUNING_SEED0 + 100 * k + i for i in range(TUNING_SEEDS)] for k, name in enumerate(scenarios)}
    jobs = [(name, seed, env, duration, params, route, sites)
            for name, (env, duration) in scenarios.items() for seed in seeds[name]]
    errors = {name: [] for name in scenarios}
    with ProcessPoolExecutor(max_workers=min(len(jobs), os.cpu_count() or 1)) as pool:
        for job, error in zip(jobs, pool.map(_tuning_drive, jobs)):
            errors[job[0]].append(error)
    p95 = np.column_stack([np.percentile(np.vstack(e), 95, axis=0) for e in errors.values()])
    say(f'rl baseline tuned: {len(grid)} settings, tuning seeds {seeds}')
    total = p95.sum(axis=1)
    best = int(np.argmin(total))
    d = RlBaselineParams()
    report = {
        'criterion': 'least sum of the p95 errors of rtk, outage60 and multipath on the tuning seeds [m]',
        'seeds': seeds,
        'grid': {'process_noise_scale_pose': list(RL_POSE_NOISE_SCALES),
                 'process_noise_scale_velocity': list(RL_VELOCITY_NOISE_SCALES),
                 'position_rejection_threshold': [_json_threshold(t) for t in RL_REJECTION_THRESHOLDS]},
        'grid_note': f'scales multiply robot_localization\'s default process noise (x, y {d.process_noise_xy_m2ps} '
                     f'm^2/s, yaw {d.process_noise_yaw_rad2ps} rad^2/s; v {d.process_noise_speed_m2ps3} m^2/s^3, '
                     f'yaw rate {d.process_noise_yaw_rate_rad2ps3} rad^2/s^3); threshold: Mahalanobis distance '
                     '(pose0_rejection_threshold), null: none',
        'fixed': {name: round(value, 4) for name, value in _rl_sensor_noise().items()},
        'results_columns': ['process_noise_scale_pose', 'process_noise_scale_velocity',
                            'position_rejection_threshold', 'rtk_p95_m', 'outage60_p95_m', 'multipath_p95_m',
                            'sum_p95_m'],
        'results': [[pose, velocity, _json_threshold(t)] + [round(float(v), 4) for v in p95[i]]
                    + [round(float(total[i]), 4)] for i, (pose, velocity, t) in enumerate(grid)],
        'chosen': {'process_noise_scale_pose': grid[best][0], 'process_noise_scale_velocity': grid[best][1],
                   'position_rejection_threshold': _json_threshold(grid[best][2]),
                   'sum_p95_m': round(float(total[best]), 4)},
        'wall_seconds': round(time.monotonic() - wall0, 1),
    }
    return params[best], report


def _p95(values):
    return round(float(np.percentile(values, 95)), 4)


def run(root: Path, seeds: int, say=print) -> dict:
    wall0 = time.monotonic()
    lane_map = load_map(root / 'maps' / 'moc_1119_1120.geojson')
    sites = lane_map.gnb_sites(root / 'config' / 'gnb_sites.yaml')
    route = _lane_route(lane_map)
    event = {name: [(EVENT_START_S, EVENT_START_S + duration)] for name, duration in EVENT_DURATION_S.items()}
    scenarios = {
        'rtk': (GnssEnvironment(), 75.0),
        'outage60': (GnssEnvironment(outage_windows=event['outage60']), 90.0),
        'multipath': (GnssEnvironment(multipath_windows=event['multipath']), 60.0),
    }
    rl_chosen, rl_tuning = _tune_rl(route, sites, scenarios, say)
    results, rl_errors, samples = {}, {}, {name: [] for name in UPDATE_TYPES}
    for k, (name, (env, duration)) in enumerate(scenarios.items()):
        runs, rl_runs = [], []
        for seed in range(seeds):
            rows, rl_err, timed = _run(route, sites, 1000 * (k + 1) + seed, env, duration, [rl_chosen])
            runs.append(rows)
            rl_runs.append(rl_err[:, 0])
            for kind, times in timed.items():
                samples[kind] += times
        results[name], rl_errors[name] = runs, rl_runs
        say(f'{name:9s} {seeds} seeded drives done')
    every = np.vstack([r for runs in results.values() for r in runs])
    at = {name: np.vstack([r[_epochs(name, r)] for r in runs]) for name, runs in results.items()}
    rl_at = {name: np.concatenate([e[_epochs(name, r)] for r, e in zip(results[name], rl_errors[name])])
             for name in results}
    rtk, outage, multipath = at['rtk'], at['outage60'], at['multipath']
    steps = []
    for r in results['multipath']:
        d = np.hypot(np.diff(r[:, 7]), np.diff(r[:, 8]))      # step of the estimate error between epochs
        steps.append(d[_epochs('multipath', r[1:])])
    jumps_seen = int(sum((r[:, 9] > 0).sum() for r in results['multipath']))
    cost = {kind: {'median': round(float(np.median(s)) * 1e6, 1), 'p99': round(float(np.percentile(s, 99)) * 1e6, 1),
                   'calls': len(s)} for kind, s in samples.items() if s}
    figures = {
        'rtk_p95_m': _p95(rtk[:, 1]),
        'rtk_yaw_p95_deg': _p95(rtk[:, 2]),
        'outage60_p95_m': _p95(outage[:, 1]),
        'outage60_max_m': round(float(outage[:, 1].max()), 4),
        'multipath_max_jump_m': round(float(np.concatenate(steps).max()), 4),
        'multipath_p95_m': _p95(multipath[:, 1]),
        'rl_baseline_rtk_p95_m': _p95(rl_at['rtk']),
        'rl_baseline_outage60_p95_m': _p95(rl_at['outage60']),
        'rl_baseline_multipath_p95_m': _p95(rl_at['multipath']),
        'gnss_only_rtk_p95_m': _p95(rtk[:, 6]),
        'gnss_only_outage60_p95_m': round(float(np.percentile(outage[:, 6], 95)), 2),
        'gnss_only_multipath_p95_m': _p95(multipath[:, 6]),
        'integrity_ratio': round(float(np.mean(every[:, 1] < every[:, 3])), 5),
        'pl_median_rtk_m': round(float(np.median(rtk[:, 3])), 3),
        'pl_median_outage60_m': round(float(np.median(outage[:, 3])), 3),
        'update_cost_us': cost,
        'update_worst_median_us': max(c['median'] for c in cost.values()),
        'outage60_speed_kmh_mean': round(float(outage[:, 5].mean() * 3.6), 1),
        'multipath_epochs_with_a_jump': jumps_seen,
        'rl_baseline_tuning': rl_tuning,
        'epochs': int(len(every)), 'seeds_per_scenario': seeds, 'route': 'mốc 1119-1120 driverless export lane',
        'gnb_sites': len(sites), 'python': platform.python_version(),
        'wall_seconds': round(time.monotonic() - wall0, 1),
    }
    return figures
