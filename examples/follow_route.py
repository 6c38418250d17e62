#!/usr/bin/env python3
"""Drive one SmartGate vehicle with RouteCommander: follow a route, print its progress, report the stop.

Run it against a running stack (launch/demo.launch.py on a full ROS 2 install, or the nodes the
integration tests start), in the stack's ROS_DOMAIN_ID:

    source scripts/env.sh
    python examples/follow_route.py                                  # igv_01: yard -> crane bay
    python examples/follow_route.py --then-stop vn_exp_handover      # and on to the handover point

It waits until the vehicle's stack is active, follows the route, printing progress once a second,
then (with --then-stop) goes to a stop node by the first candidate route that ends there.
Exit status: 0 when every leg succeeded, 1 when one did not (the reason is printed), 130 on Ctrl-C
or SIGTERM, after canceling the running leg so that the vehicle stops.
"""
from __future__ import annotations

import argparse
import signal
import sys
import time

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.signals import SignalHandlerOptions
from rclpy.utilities import remove_ros_args

from smartgate_commander import RouteCommander, TaskResult

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130
EXPORT_ROUTES = ['moc1119_export_yard_to_crane', 'moc1119_export_crane_to_km0', 'moc1119_export_full']


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--vehicle', default='igv_01', help='vehicle id, also its namespace (default igv_01)')
    parser.add_argument('--route', default='moc1119_export_yard_to_crane', help='route to follow first')
    parser.add_argument('--then-stop', metavar='NODE_ID', help='then go to this stop node (e.g. vn_exp_handover)')
    parser.add_argument('--candidates', nargs='+', default=EXPORT_ROUTES, metavar='ROUTE_ID',
                        help='routes --then-stop may use, first match wins (default: the export routes)')
    parser.add_argument('--startup-timeout', type=float, default=60.0, help='wait for the stack [s, wall]')
    parser.add_argument('--leg-timeout', type=float, default=600.0, help='cancel a leg running longer [s, wall]')
    return parser.parse_args(argv)


def follow(commander: RouteCommander, leg_timeout_s: float) -> bool:
    """Poll the task to its end, printing progress once a second [wall]; report the result."""
    start_s = last_print_s = time.monotonic()
    canceled = False
    while not commander.isTaskComplete():                 # spins the commander for up to 0.1 s
        now_s = time.monotonic()
        progress = commander.getFeedback()
        if progress is not None and now_s - last_print_s >= 1.0:
            last_print_s = now_s
            print(f'progress: {progress.distance_travelled_m:6.1f} m travelled, '
                  f'{progress.distance_remaining_m:6.1f} m to go, {progress.speed_mps * 3.6:4.1f} km/h, '
                  f'cross-track {progress.cross_track_error_m * 100:+5.1f} cm, ETA {progress.eta.sec} s',
                  flush=True)
        if not canceled and now_s - start_s > leg_timeout_s:
            print(f'not done after {leg_timeout_s:.0f} s: canceling', flush=True)
            canceled = commander.cancelTask()
    result = commander.getResult()
    code, message, stop_error_m = commander.getResultDetail()
    if result == TaskResult.SUCCEEDED:
        print(f'result: SUCCEEDED, stopped {stop_error_m * 100:.1f} cm from the stop point (estimated)', flush=True)
        return True
    print(f'result: {result.name} (error code {code}): {message}', flush=True)
    return False


def run(commander: RouteCommander, args) -> int:
    if not commander.waitUntilActive(timeout_s=args.startup_timeout):
        print(f'{args.vehicle} did not become active; is the stack running in this ROS_DOMAIN_ID?', flush=True)
        return EXIT_FAILED
    print(f'leg 1: route {args.route}', flush=True)
    if not commander.followRoute(args.route, precise_stop=True) or not follow(commander, args.leg_timeout):
        return EXIT_FAILED
    if args.then_stop:
        print(f'leg 2: to stop {args.then_stop}', flush=True)
        if not commander.goToStop(args.then_stop, args.candidates) or not follow(commander, args.leg_timeout):
            return EXIT_FAILED
    return EXIT_OK


def main(argv=None) -> int:
    args = parse_args(remove_ros_args(sys.argv if argv is None else argv)[1:])
    signal.signal(signal.SIGTERM, signal.default_int_handler)      # SIGTERM cancels like Ctrl-C
    try:
        # without rclpy's signal handlers Ctrl-C leaves the context up, so the leg can still be canceled
        with rclpy.init(signal_handler_options=SignalHandlerOptions.NO):
            commander = RouteCommander(vehicle_id=args.vehicle, node_name='follow_route_example')
            try:
                return run(commander, args)
            except KeyboardInterrupt:
                if commander.cancelTask():
                    deadline_s = time.monotonic() + 5.0
                    while not commander.isTaskComplete() and time.monotonic() < deadline_s:
                        pass
                print('interrupted', flush=True)
                return EXIT_INTERRUPTED
            finally:
                commander.destroy()
    except ExternalShutdownException:
        return EXIT_FAILED


if __name__ == '__main__':
    sys.exit(main())
