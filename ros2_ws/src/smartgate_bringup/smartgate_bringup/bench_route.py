"""`smartgate bench route`: fixed-route driving measured in the fleet-scale simulator.

Seeded drives of every route of every lane map in maps/, alternately empty and laden (60 t), with
the localization in the loop (real localization error, not ground truth), in open sky. The same
seeds and routes are driven with a textbook pure pursuit as the baseline, so ratios compare like
with like. The same seeds and routes are driven once more under the site's sky (`site_*` figures):
the map's GNSS outage zones (checkpoint canopy, crane girders) and multipath zones (stacks), with
the 5G sites of config/gnb_sites.yaml. Figures are of the TRUE pose (ground truth), on simulated time.
"""
from __future__ import annotations

import math
import platform
import time
from pathlib import Path

import numpy as np

from smartgate_core.simulation.closed_loop import Scenario, drive
from smartgate_core.driving.baselines import PurePursuitTracker
from smartgate_core.lane_map import load_map
from smartgate_core.simulation.sensors import GnssEnvironment
from smartgate_core.simulation.vehicle_model import VehicleParams

FULL_PAYLOAD_KG = 60000.0
DRIVING_MPS = 0.5          # cross-track counts while the vehicle moves faster than this [m/s]


def _route_figures(route, trace):
    t, truth, _ = trace.arrays()
    moving = truth[:, 3] > DRIVING_MPS
    xtrack = np.abs(np.asarray(trace.cross_track_m))[moving]
    gx, gy = route.xy[-1]
    return {
        'xtrack': xtrack,
        'stop_m': math.hypot(truth[-1, 0] - gx, truth[-1, 1] - gy),
        'stop_heading_deg': abs(math.degrees(math.remainder(truth[-1, 2] - route.heading[-1], 2 * math.pi))),
        'max_speed_kmh': float(truth[:, 3].max() * 3.6),
        'completed': trace.state == 'stopped',
        'steps': trace.control_step_s,
    }


def _stop_test(route, seed, say):
    """E-stop and heartbeat loss at full speed on the lane: stopping distance and reaction time."""
    probe = drive(route, seed)
    t, truth, _ = probe.arrays()
    at = float(t[np.argmax(truth[:, 3] >= 8.3)]) + 1.0           # one second at 30 km/h
    vehicle = VehicleParams()
    estop = drive(route, seed, scenario=Scenario(estop_at_s=at))
    t, truth, _ = estop.arrays()
    i0 = int(np.searchsorted(t, at))          # the control period that sees the e-stop
    v0 = float(truth[i0, 3])
    distance = float(np.hypot(*(truth[-1, :2] - truth[i0, :2])))
    braking_only = v0 ** 2 / (2.0 * vehicle.emergency_decel_mps2)
    with_delay = v0 * vehicle.actuator_delay_s + braking_only
    comms = drive(route, seed, scenario=Scenario(heartbeat_stops_at_s=at))
    t, truth, _ = comms.arrays()
    braking = np.flatnonzero((t > comms.last_heartbeat_s) & (truth[:, 4] < -0.5))
    reaction = float(t[braking[0]] - comms.last_heartbeat_s)
    say(f'  e-stop from {v0 * 3.6:.1f} km/h: {distance:.2f} m (v^2/2a {braking_only:.2f} m, '
        f'with {vehicle.actuator_delay_s * 1000:.0f} ms actuator delay {with_delay:.2f} m); '
        f'heartbeat loss -> braking after {reaction:.2f} s')
    return {'estop_speed_kmh': round(v0 * 3.6, 2), 'estop_distance_m': round(distance, 3),
            'estop_distance_ratio': round(distance / with_delay, 4),
            'estop_distance_ratio_braking_only': round(distance / braking_only, 4),
            'comms_loss_reaction_s': round(reaction, 3), 'comms_loss_reason': comms.reason}


def _rms(figures):
    return float(np.sqrt(np.mean(np.concatenate([f['xtrack'] for f in figures]) ** 2)))


def _max(figures):
    return float(max(f['xtrack'].max() for f in figures))


def _site_figures(site):
    return {'site_xtrack_rms_m': round(_rms(site), 4), 'site_xtrack_max_m': round(_max(site), 4),
            'site_stop_p95_m': round(float(np.percentile([c['stop_m'] for c in site], 95)), 4),
            'site_stop_heading_p95_deg': round(float(np.percentile([c['stop_heading_deg'] for c in site], 95)), 3),
            'site_routes_completed': f"{sum(c['completed'] for c in site)}/{len(site)}"}


def run(maps_dir: Path, gnb_sites_file: Path, seeds: int, say=print) -> dict:
    wall0 = time.monotonic()
    ours, base, site, per_route, routes = [], [], [], {}, []
    maps = sorted(Path(maps_dir).glob('*.geojson'))
    for map_path in maps:
        lane_map = load_map(map_path)
        site_sky = Scenario(gnss_environment=GnssEnvironment.of_map(lane_map),
                            gnb_sites=lane_map.gnb_sites(gnb_sites_file))
        for rid in lane_map.route_ids:
            route = lane_map.route(rid)
            routes.append(route)
            rows = []
            for seed in range(seeds):
                payload = FULL_PAYLOAD_KG if seed % 2 else 0.0
                a = _route_figures(route, drive(route, seed, payload))
                b = _route_figures(route, drive(route, seed, payload, PurePursuitTracker))
                c = _route_figures(route, drive(route, seed, payload, scenario=site_sky))
                ours.append(a)
                base.append(b)
                site.append(c)
                rows.append((a, b, c))
            rms, base_rms, site_rms = (_rms([r[i] for r in rows]) for i in range(3))
            per_route[rid] = {'length_m': round(route.length_m, 1), 'xtrack_rms_m': round(rms, 4),
                              'baseline_xtrack_rms_m': round(base_rms, 4),
                              'stop_max_m': round(max(r[0]['stop_m'] for r in rows), 4),
                              'site_xtrack_rms_m': round(site_rms, 4),
                              'site_xtrack_max_m': round(_max([r[2] for r in rows]), 4),
                              'site_stop_max_m': round(max(r[2]['stop_m'] for r in rows), 4)}
            say(f'{rid:34s} {route.length_m:6.0f} m  cross-track rms {rms * 100:5.2f} cm '
                f'(pure pursuit {base_rms * 100:5.2f}, site sky {site_rms * 100:5.2f} cm)  '
                f'worst stop {per_route[rid]["stop_max_m"] * 100:.1f} cm '
                f'(site sky {per_route[rid]["site_stop_max_m"] * 100:.1f} cm)')
    stops = _stop_test(max(routes, key=lambda r: r.length_m), 0, say)
    steps = np.concatenate([a['steps'] for a in ours])
    result = {
        'xtrack_rms_m': round(_rms(ours), 4),
        'xtrack_max_m': round(_max(ours), 4),
        'stop_p95_m': round(float(np.percentile([a['stop_m'] for a in ours], 95)), 4),
        'stop_heading_p95_deg': round(float(np.percentile([a['stop_heading_deg'] for a in ours], 95)), 3),
        'max_speed_kmh': round(max(a['max_speed_kmh'] for a in ours), 2),
        **stops,
        'control_step_median_us': round(float(np.median(steps)) * 1e6, 1),
        'baseline_xtrack_rms_m': round(_rms(base), 4),
        'baseline_xtrack_max_m': round(_max(base), 4),
        'routes_completed': f"{sum(a['completed'] for a in ours)}/{len(ours)}",
        **_site_figures(site),
        'runs': len(ours), 'seeds_per_route': seeds, 'maps': [p.name for p in maps], 'routes': per_route,
        'localization_in_loop': 'smartgate_core.localization.localizer.Localizer on the seeded sensor models',
        'python': platform.python_version(), 'wall_seconds': round(time.monotonic() - wall0, 1),
    }
    result['xtrack_ratio'] = round(result['xtrack_rms_m'] / result['baseline_xtrack_rms_m'], 4)
    return result
