"""The `smartgate` command line: run the demo, check maps, list routes.

Exit codes: 0 done, 1 the run did not complete, 2 bad input (nothing was started), 130 interrupted.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def repo_root() -> Path:
    """The checkout this command was set up from (scripts/env.sh exports it)."""
    root = os.environ.get('SMARTGATE_ROOT')
    return Path(root) if root else Path.cwd()


def _param_override(text):
    node, sep, path = text.partition('=')
    if not sep or not node or not path:
        raise argparse.ArgumentTypeError(f"expected NODE=FILE, got '{text}'")
    return node, path


def build_parser():
    parser = argparse.ArgumentParser(prog='smartgate', description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='command', required=True)
    demo = sub.add_parser('demo', help='drive one vehicle along the export route in simulation')
    demo.add_argument('--config', type=Path, default=None, help='demo configuration (default config/demo.yaml)')
    demo.add_argument('--vehicle', help='vehicle id from the fleet file (default: the config\'s)')
    demo.add_argument('--route', action='append', dest='routes', metavar='ROUTE_ID',
                      help='drive these routes instead of the configured legs (repeatable)')
    demo.add_argument('--param-file', action='append', type=_param_override, default=[], metavar='NODE=FILE',
                      help='use FILE as the parameter file of NODE')
    demo.add_argument('--real-time-factor', type=float, help='simulated seconds per wall second')
    demo.add_argument('--output', type=Path, help='result folder (default results/demo-<time>)')
    demo.add_argument('--json', type=Path, help='also write the summary JSON here')
    stack = sub.add_parser('stack', help='bring the simulated stack up and keep it up (no goals) until Ctrl-C, '
                                         'for the commander API, examples/ and RViz')
    stack.add_argument('--config', type=Path, default=None, help='demo configuration (default config/demo.yaml)')
    stack.add_argument('--vehicle', help='vehicle id from the fleet file')
    stack.add_argument('--real-time-factor', type=float, default=1.0, help='simulated seconds per wall second')
    stack.add_argument('--output', type=Path, help='result folder (default results/stack-<time>)')
    check = sub.add_parser('check-map', help='validate a lane map GeoJSON and summarise it')
    check.add_argument('map_file', type=Path)
    bench = sub.add_parser('bench', help='benchmarks in the fleet-scale simulator (figures as JSON)')
    bench.add_argument('which', choices=['route', 'localization'],
                       help='route: fixed-route driving; localization: GNSS + 5G localization with integrity')
    bench.add_argument('--json', type=Path, help='write the figures here')
    bench.add_argument('--seeds', type=int, default=6, help='seeded drives per route or scenario (default 6)')
    bench.add_argument('--tune-seeds', type=int, default=2,
                       help='route: seeds per route the baselines are tuned on, disjoint from --seeds (default 2)')
    bench.add_argument('--estop-trials', type=int, default=12,
                       help='route: e-stop reaction trials over DDS (default 12)')
    vn2000 = sub.add_parser('to-vn2000', help='WGS 84 latitude/longitude -> VN-2000 / TM-3 107-15 (EPSG:9215)')
    vn2000.add_argument('latitude_deg', type=float)
    vn2000.add_argument('longitude_deg', type=float)
    routes = sub.add_parser('routes', help='list the routes of a lane map')
    routes.add_argument('--map', type=Path, default=None, help='default maps/moc_1119_1120.geojson')
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    # Ctrl-C, and SIGTERM (CI, systemd), unwind as KeyboardInterrupt so the node processes are stopped
    # too (SIGINT explicitly: a shell starting us in the background would leave it ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        return {'demo': _demo, 'stack': _demo, 'check-map': _check_map, 'routes': _routes,
                'bench': _bench, 'to-vn2000': _to_vn2000}[args.command](args)
    except KeyboardInterrupt:
        print('interrupted: stack stopped', file=sys.stderr)
        return EXIT_INTERRUPTED


def _bench(args):
    for flag, value in (('--seeds', args.seeds), ('--tune-seeds', args.tune_seeds), ('--estop-trials', args.estop_trials)):
        if value < 1:
            print(f'error: {flag} must be at least 1', file=sys.stderr)
            return EXIT_BAD_INPUT
    say = lambda s: print(s, flush=True)  # noqa: E731
    if args.which == 'route':
        from .bench_route import run
        figures = run(repo_root(), args.seeds, args.tune_seeds, args.estop_trials, say)
    else:
        from .bench_localization import run
        figures = run(repo_root(), args.seeds, say)
    text = json.dumps(figures, indent=2, ensure_ascii=False)
    if args.json:
        args.json.write_text(text + '\n')
    print(text)
    return EXIT_OK


def _to_vn2000(args):
    import math
    from smartgate_core.geodesy import VN2000_HELMERT, VN2000_TM3_LANG_SON, to_vn2000_tm3
    lat, lon = args.latitude_deg, args.longitude_deg
    if not (math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90.0 and abs(lon) <= 180.0):
        print(f'error: latitude {lat} / longitude {lon} out of range', file=sys.stderr)
        return EXIT_BAD_INPUT
    easting, northing = to_vn2000_tm3(lat, lon)
    print(f'{VN2000_TM3_LANG_SON} ({VN2000_HELMERT}): E {float(easting):.3f} m  N {float(northing):.3f} m')
    return EXIT_OK


def _check_map(args):
    from smartgate_core.lane_map import MapError, load_map
    try:
        lane_map = load_map(args.map_file)
    except MapError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_BAD_INPUT
    kinds = {}
    for f in lane_map.features.values():
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    print(f'{args.map_file}: valid; {lane_map.name}; ' + ', '.join(f'{n} {k}' for k, n in sorted(kinds.items())))
    return EXIT_OK


def _routes(args):
    from smartgate_core.lane_map import MapError, load_map
    try:
        lane_map = load_map(args.map or repo_root() / 'maps' / 'moc_1119_1120.geojson')
    except MapError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_BAD_INPUT
    for rid in lane_map.route_ids:
        r = lane_map.route(rid)
        print(f'{rid:34s} {r.length_m:7.1f} m  {" -> ".join(r.node_ids)}')
    return EXIT_OK


def _demo(args):
    from .stack import ConfigurationError, executable_path, load_demo_config, STACK
    root = repo_root()
    serve = args.command == 'stack'
    try:
        cfg, lane_map = load_demo_config(root, args.config or root / 'config' / 'demo.yaml', args.vehicle,
                                         None if serve else args.routes,
                                         {} if serve else dict(args.param_file), args.real_time_factor)
        for spec in STACK:
            executable_path(spec)
    except ConfigurationError as exc:
        print(f'error: {exc}\nnothing was started.', file=sys.stderr)
        return EXIT_BAD_INPUT
    from .demo import run_demo
    if serve:
        cfg.legs = []
    out_dir = args.output or root / 'results' / time.strftime(f'{args.command}-%Y%m%d-%H%M%S')
    print(f'SmartGate {args.command}: {cfg.vehicle_id} on {lane_map.name} (map illustrative, not surveyed), '
          f'{len(cfg.legs)} legs, real-time factor {cfg.real_time_factor}', flush=True)
    summary = run_demo(cfg, lane_map, out_dir, say=lambda s: print(s, flush=True), serve=serve)
    if serve:
        print(f'stack stopped; recording in {out_dir}')
        return EXIT_OK
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2) + '\n')
    verdict = 'route completed' if summary['route_completed'] else 'route NOT completed'
    print(f"{verdict}: stop error {summary['stop_error_m']} m, max cross-track {summary['max_cross_track_m']} m, "
          f"{summary['sim_seconds']} s simulated in {summary['wall_seconds']} s wall\nresults: {out_dir}")
    return EXIT_OK if summary['route_completed'] else EXIT_RUN_FAILED


if __name__ == '__main__':
    sys.exit(main())
