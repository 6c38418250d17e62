"""`smartgate bench route`: fixed-route driving measured in the fleet-scale simulator.

Every route of every lane map in maps/ is driven on seeded runs, alternately empty and laden (60 t
declared; the true mass and its centre of gravity are off by the simulator's disturbances), with the
localization in the loop (the real Localizer on the seeded sensors, not ground truth), on the
dynamic vehicle (tyres, axle loads, actuator delay and lags, crossfall, gusts). Figures are of the
TRUE pose, on simulated time.

Baselines are tuned, not picked: pure pursuit with a speed-scaled lookahead (as Nav2's Regulated
Pure Pursuit) and Stanley are swept over a grid on TUNING seeds (9000 + i), disjoint from the
EVALUATION seeds (0 .. N-1); the best of each family on the tuning seeds is then driven on the
evaluation seeds beside ours, and the better of the two on the tuning seeds is the reference of the
ratios. The same evaluation runs are driven once more under the site's sky (`site_*`: the maps'
GNSS outage zones at the checkpoint canopy and the crane girders, multipath by the stacks, 5G from
config/gnb_sites.yaml). The e-stop is measured twice: its distance from 30 km/h in the simulator
(empty and laden, against UN ECE R13's type-0 stopping distance for category N3), and its reaction
over DDS between real processes (bench_estop).
"""
from __future__ import annotations

import dataclasses
import functools
import math
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from smartgate_core.driving.baselines import PurePursuitParams, PurePursuitTracker, StanleyParams, StanleyTracker
from smartgate_core.driving.controller import RouteTracker
from smartgate_core.driving.safety import ece_r13_stopping_distance_m
from smartgate_core.lane_map import load_map
from smartgate_core.simulation.closed_loop import Scenario, drive
from smartgate_core.simulation.sensors import GnssEnvironment

FULL_PAYLOAD_KG = 60000.0
DRIVING_MPS = 0.5          # cross-track counts while the vehicle moves faster than this [m/s]
TUNING_SEED0 = 9000        # tuning seeds are 9000 + i, evaluation seeds 0 .. N-1
ESTOP_FROM_KMH = 30.0
ESTOP_REQUIREMENT = 'UN ECE R13 Annex 4, type-0 test, category N3: s <= 0.15 v + v^2 / 130 (v in km/h)'
PURE_PURSUIT_GRID = [PurePursuitParams(t, lo, hi) for t in (0.8, 0.9, 1.0, 1.2, 1.5, 2.0)
                     for lo in (3.0, 5.0) for hi in (10.0, 20.0)]
STANLEY_GRID = [StanleyParams(k, soft) for k in (1.0, 2.0, 3.0, 4.0) for soft in (0.5, 2.0, 4.0)]
FAMILIES = {'pure_pursuit': (PurePursuitTracker, PURE_PURSUIT_GRID), 'stanley': (StanleyTracker, STANLEY_GRID)}


@functools.lru_cache(maxsize=None)
def _map(map_path):
    return load_map(map_path)


def _tracker(family, params):
    if family == 'ours':
        return RouteTracker
    return functools.partial(FAMILIES[family][0], baseline=params)


def _drive_job(job):
    """One seeded drive (runs in a worker process): figures of the true pose."""
    map_path, route_id, seed, family, params, site_sky, gnb_sites_file = job
    lane_map = _map(map_path)
    route = lane_map.route(route_id)
    scenario = None
    if site_sky:
        scenario = Scenario(gnss_environment=GnssEnvironment.of_map(lane_map),
                            gnb_sites=lane_map.gnb_sites(gnb_sites_file))
    trace = drive(route, seed, FULL_PAYLOAD_KG if seed % 2 else 0.0, _tracker(family, params), scenario)
    t, truth, _ = trace.arrays()
    moving = truth[:, 3] > DRIVING_MPS
    gx, gy = route.xy[-1]
    return {
        'route_id': route_id,
        'xtrack': np.abs(np.asarray(trace.cross_track_m))[moving],
        'stop_m': math.hypot(truth[-1, 0] - gx, truth[-1, 1] - gy),
        'stop_heading_deg': abs(math.degrees(math.remainder(truth[-1, 2] - route.heading[-1], 2 * math.pi))),
        'max_speed_kmh': float(truth[:, 3].max() * 3.6),
        'completed': trace.state == 'stopped',
        'steps': np.asarray(trace.control_step_s),
    }


def _rms(figures):
    return float(np.sqrt(np.mean(np.concatenate([f['xtrack'] for f in figures]) ** 2)))


def _max(figures):
    return float(max(f['xtrack'].max() for f in figures))


def _p95(figures, key):
    return float(np.percentile([f[key] for f in figures], 95))


def _completed(figures):
    return f"{sum(f['completed'] for f in figures)}/{len(figures)}"


def _stop_figures(route, say):
    """E-stop from 30 km/h, empty and laden, and heartbeat loss: distances and reaction from the core loop."""
    out = {}
    for label, payload in (('empty', 0.0), ('laden', FULL_PAYLOAD_KG)):
        probe = drive(route, 0, payload)
        t, truth, _ = probe.arrays()
        at = float(t[np.argmax(truth[:, 3] >= ESTOP_FROM_KMH / 3.6 - 0.05)]) + 1.0     # a second at 30 km/h
        trace = drive(route, 0, payload, scenario=Scenario(estop_at_s=at))
        t, truth, _ = trace.arrays()
        i0 = int(np.searchsorted(t, at))                 # the first control period that sees the e-stop
        v0_kmh = float(truth[i0, 3]) * 3.6
        out[label] = (float(np.hypot(*(truth[-1, :2] - truth[i0, :2]))), v0_kmh)
    comms = drive(route, 0, scenario=Scenario(heartbeat_stops_at_s=at))
    t, truth, _ = comms.arrays()
    braking = np.flatnonzero((t > comms.last_heartbeat_s) & (truth[:, 4] < -0.5))
    reaction = float(t[braking[0]] - comms.last_heartbeat_s)
    required = ece_r13_stopping_distance_m(ESTOP_FROM_KMH / 3.6)
    say(f"  e-stop from {ESTOP_FROM_KMH:.0f} km/h: {out['empty'][0]:.2f} m empty, {out['laden'][0]:.2f} m laden "
        f'(required <= {required:.2f} m, {ESTOP_REQUIREMENT}); heartbeat loss -> braking after {reaction:.2f} s')
    return {'estop_distance_m': round(max(out['empty'][0], out['laden'][0]), 3),
            'estop_distance_empty_m': round(out['empty'][0], 3), 'estop_distance_laden_m': round(out['laden'][0], 3),
            'estop_from_kmh': {k: round(v[1], 2) for k, v in out.items()},
            'estop_distance_requirement_m': round(required, 3), 'estop_requirement': ESTOP_REQUIREMENT,
            'comms_loss_reaction_s': round(reaction, 3), 'comms_loss_reason': comms.reason}


def run(root: Path, seeds: int, tune_seeds: int = 2, estop_trials: int = 12, say=print) -> dict:
    """The whole route benchmark of the checkout at `root` (its maps/ and config/)."""
    wall0 = time.monotonic()
    gnb_sites_file = Path(root) / 'config' / 'gnb_sites.yaml'
    maps = sorted((Path(root) / 'maps').glob('*.geojson'))
    routes = [(str(m), rid) for m in maps for rid in load_map(m).route_ids]
    evaluation, tuning = range(seeds), range(TUNING_SEED0, TUNING_SEED0 + tune_seeds)

    def jobs(family, params, seed_range, site_sky=False):
        return [(m, rid, seed, family, params, site_sky, str(gnb_sites_file)) for m, rid in routes for seed in seed_range]

    sweep, best = [], {}
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        say(f'tuning the baselines on seeds {tuning.start}..{tuning.stop - 1}: '
            f'{sum(len(g) for _, g in FAMILIES.values())} settings x {len(routes)} routes x {tune_seeds} seeds')
        for family, (_, grid) in FAMILIES.items():
            for params in grid:
                figs = list(pool.map(_drive_job, jobs(family, params, tuning)))
                done = all(f['completed'] for f in figs)
                row = {'name': family, 'params': dataclasses.asdict(params), 'xtrack_rms_m': round(_rms(figs), 4),
                       'xtrack_max_m': round(_max(figs), 4), 'routes_completed': _completed(figs)}
                sweep.append(row)
                say(f"  {family:12s} {row['params']}  rms {row['xtrack_rms_m'] * 100:6.2f} cm  "
                    f"max {row['xtrack_max_m'] * 100:6.2f} cm  {row['routes_completed']}")
                score = row['xtrack_rms_m'] if done else math.inf
                if family not in best or score < best[family][0]:
                    best[family] = (score, params)
        say(f'evaluation on seeds 0..{seeds - 1}: ours, the best of each baseline family, ours under the site sky')
        ours = list(pool.map(_drive_job, jobs('ours', None, evaluation)))
        baselines = {family: list(pool.map(_drive_job, jobs(family, params, evaluation)))
                     for family, (_, params) in best.items()}
        site = list(pool.map(_drive_job, jobs('ours', None, evaluation, site_sky=True)))
    best_name = min(best, key=lambda family: best[family][0])
    reference = baselines[best_name]
    per_route = {}
    for _, rid in routes:
        mine, theirs, sky = ([f for f in figs if f['route_id'] == rid] for figs in (ours, reference, site))
        per_route[rid] = {'xtrack_rms_m': round(_rms(mine), 4), 'xtrack_max_m': round(_max(mine), 4),
                          'baseline_best_xtrack_rms_m': round(_rms(theirs), 4),
                          'stop_max_m': round(max(f['stop_m'] for f in mine), 4),
                          'site_xtrack_rms_m': round(_rms(sky), 4), 'site_stop_max_m': round(max(f['stop_m'] for f in sky), 4)}
        say(f"{rid:34s} cross-track rms {per_route[rid]['xtrack_rms_m'] * 100:5.2f} cm "
            f"({best_name} {per_route[rid]['baseline_best_xtrack_rms_m'] * 100:5.2f}, site sky "
            f"{per_route[rid]['site_xtrack_rms_m'] * 100:5.2f})  worst stop {per_route[rid]['stop_max_m'] * 100:.1f} cm")
    lane_map = load_map(maps[0])
    longest = max((lane_map.route(r) for r in lane_map.route_ids), key=lambda r: r.length_m)
    stops = _stop_figures(longest, say)
    from .bench_estop import run as estop_over_dds
    estop = estop_over_dds(Path(root), estop_trials, say)
    steps_us = np.concatenate([f['steps'] for f in ours]) * 1e6
    result = {
        'xtrack_rms_m': round(_rms(ours), 4),
        'xtrack_max_m': round(_max(ours), 4),
        'baseline_best_name': best_name,
        'baseline_best_params': dataclasses.asdict(best[best_name][1]),
        'baseline_best_xtrack_rms_m': round(_rms(reference), 4),
        'baseline_best_xtrack_max_m': round(_max(reference), 4),
        'xtrack_ratio': round(_rms(ours) / _rms(reference), 4),
        'xtrack_max_ratio': round(_max(ours) / _max(reference), 4),
        'baselines_evaluated': {family: {'params': dataclasses.asdict(best[family][1]),
                                         'xtrack_rms_m': round(_rms(figs), 4), 'xtrack_max_m': round(_max(figs), 4),
                                         'stop_p95_m': round(_p95(figs, 'stop_m'), 4),
                                         'routes_completed': _completed(figs)}
                                for family, figs in baselines.items()},
        'baseline_sweep': sweep,
        'stop_p95_m': round(_p95(ours, 'stop_m'), 4),
        'stop_heading_p95_deg': round(_p95(ours, 'stop_heading_deg'), 3),
        'max_speed_kmh': round(max(f['max_speed_kmh'] for f in ours), 2),
        'routes_completed': _completed(ours),
        **stops,
        **estop,
        'control_step_us': {'median': round(float(np.median(steps_us)), 1),
                            'p99': round(float(np.percentile(steps_us, 99)), 1)},
        'site_xtrack_rms_m': round(_rms(site), 4), 'site_xtrack_max_m': round(_max(site), 4),
        'site_stop_p95_m': round(_p95(site, 'stop_m'), 4),
        'site_stop_heading_p95_deg': round(_p95(site, 'stop_heading_deg'), 3),
        'site_routes_completed': _completed(site),
        'runs': len(ours), 'seeds_per_route': seeds, 'tuning_seeds': [tuning.start, tuning.stop - 1],
        'maps': [p.name for p in maps], 'routes': per_route,
        'localization_in_loop': 'smartgate_core.localization.Localizer on the seeded sensor models',
        'vehicle': 'dynamic single track, tyres, actuator delay and lags, crossfall, gusts, payload mass +-20 %',
        'python': platform.python_version(), 'wall_seconds': round(time.monotonic() - wall0, 1),
    }
    return result
