"""RouteCommander and examples/follow_route.py against real simulator, localization and route-follower processes."""
import math
import os
import subprocess
import sys
import time

import pytest
import rclpy
from rclpy.context import Context
from rclpy.signals import SignalHandlerOptions

from smartgate_commander import RouteCommander, TaskResult
from smartgate_interfaces.action import FollowRoute

from ..conftest import REPO

pytestmark = pytest.mark.integration
Result = FollowRoute.Result
EXAMPLE = REPO / 'examples' / 'follow_route.py'


def bring_up(nodes, ros):
    """The vehicle's nodes, and the fleet manager's heartbeat (without which the route follower will not drive)."""
    nodes('world_sim', start_node_id='vn_exp_park_1', seed=7, real_time_factor=2.0)
    nodes('localization')
    nodes('route_follower')
    ros.heartbeat = ros.start_heartbeat()


@pytest.fixture
def commander(ros_domain):
    """A RouteCommander for igv_t in the test's ROS domain, in a context of its own (shut down after)."""
    context = Context()
    rclpy.init(context=context, domain_id=ros_domain, signal_handler_options=SignalHandlerOptions.NO)
    try:
        cmd = RouteCommander(vehicle_id='igv_t', node_name='test_commander', context=context)
        try:
            yield cmd
        finally:
            cmd.destroy()
    finally:
        rclpy.shutdown(context=context)


def poll(commander, group, timeout_s, until=None):
    """Call isTaskComplete() until the task ends (or `until(feedback)` holds); return the feedback seen."""
    seen = []
    deadline = time.monotonic() + timeout_s
    while not commander.isTaskComplete():
        group.check()
        progress = commander.getFeedback()
        if progress is not None and (not seen or progress is not seen[-1]):
            seen.append(progress)
            if until is not None and until(progress):
                return seen
        if time.monotonic() > deadline:
            pytest.fail(f'task not complete after {timeout_s} s')
    return seen


def test_commander_drives_fails_and_cancels(nodes, ros, commander):
    assert commander.isTaskComplete() and commander.getResult() == TaskResult.UNKNOWN    # no task yet
    assert commander.getResultDetail()[0] is None
    bring_up(nodes, ros)
    assert commander.waitUntilActive(timeout_s=40.0)

    # bad goals are accepted, then end at once with a code and a message
    assert commander.followRoute('nope')
    poll(commander, nodes.group, 10.0)
    code, message, _ = commander.getResultDetail()
    assert commander.getResult() == TaskResult.FAILED
    assert code == Result.UNKNOWN_ROUTE and "'nope'" in message
    assert commander.followPath([(60.0, -110.0), (60.0, float('nan')), (60.0, -100.0)])
    assert poll(commander, nodes.group, 10.0) == []
    code, message, _ = commander.getResultDetail()
    assert commander.getResult() == TaskResult.FAILED
    assert code == Result.INVALID_PATH and 'not finite' in message
    assert not commander.goToStop('nowhere', ['moc1119_export_yard_to_crane', 'nope'])

    # a route to the crane bay, to a precise stop
    assert commander.followRoute('moc1119_export_yard_to_crane')
    assert commander.getResult() == TaskResult.UNKNOWN                # running
    feedback = poll(commander, nodes.group, 60.0)
    assert commander.getResult() == TaskResult.SUCCEEDED
    code, message, stop_error_m = commander.getResultDetail()
    assert code == Result.NONE and message == ''
    assert stop_error_m < 0.05
    assert len(feedback) >= 5 and {f.route_id for f in feedback} == {'moc1119_export_yard_to_crane'}
    travelled = [f.distance_travelled_m for f in feedback]
    assert all(b >= a - 0.05 for a, b in zip(travelled, travelled[1:]))     # localization noise at standstill
    assert travelled[-1] > 50.0 and feedback[-1].distance_remaining_m < 1.0

    # on to the handover by the candidate that stops there; cancel while driving
    assert commander.goToStop('vn_exp_handover', ['nope', 'moc1119_export_yard_to_crane',
                                                  'moc1119_export_crane_to_km0'])
    feedback = poll(commander, nodes.group, 30.0, until=lambda f: f.speed_mps > 2.0)
    assert feedback and feedback[-1].speed_mps > 2.0, 'the vehicle did not get going'
    assert feedback[-1].route_id == 'moc1119_export_crane_to_km0'
    assert commander.cancelTask()
    poll(commander, nodes.group, 10.0)
    assert commander.getResult() == TaskResult.CANCELED
    assert commander.getResultDetail()[0] == Result.CANCELED
    assert not commander.cancelTask()                                 # nothing left to cancel


def run_example(*args, timeout_s):
    return subprocess.run([sys.executable, str(EXAMPLE), '--vehicle', 'igv_t', '--startup-timeout', '40', *args],
                          capture_output=True, text=True, timeout=timeout_s, env=dict(os.environ))


def test_example_script_follows_the_route_and_fails_cleanly(nodes, ros):
    bring_up(nodes, ros)
    done = run_example(timeout_s=70.0)
    nodes.group.check()                                   # a dead node, named with its log, before the script's view
    assert done.returncode == 0, done.stdout + done.stderr
    progress = [line for line in done.stdout.splitlines() if line.startswith('progress:')]
    assert len(progress) >= 3, done.stdout
    assert 'result: SUCCEEDED' in done.stdout
    stop_cm = float(done.stdout.split('result: SUCCEEDED, stopped ')[1].split(' cm')[0])
    assert math.isfinite(stop_cm) and stop_cm < 5.0
    failed = run_example('--route', 'nope', timeout_s=30.0)
    nodes.group.check()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert 'result: FAILED' in failed.stdout and "'nope'" in failed.stdout
