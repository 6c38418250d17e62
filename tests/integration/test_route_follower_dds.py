"""The FollowRoute action against real simulator, localization and route-follower processes."""
import math
import signal
import time

import pytest
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Odometry
from rclpy.action import ActionClient

from smartgate_common import qos
from smartgate_interfaces.action import FollowRoute
from smartgate_interfaces.msg import DriveCommand, LocalizationStatus, VehicleState

from ..conftest import wait_for

pytestmark = pytest.mark.integration
Result = FollowRoute.Result
CB1_STOP = (60.0, -50.0)


def start_vehicle_stack(nodes, ros, start_node_id='vn_exp_park_1', seed=5, rtf=2.0, **route_follower_params):
    """Simulator, localization and route follower up, with the test's fleet heartbeat; returns the
    action client and the lists ground truth, localization status and vehicle state arrive in."""
    nodes('world_sim', start_node_id=start_node_id, seed=seed, real_time_factor=rtf)
    nodes('localization')
    nodes('route_follower', **route_follower_params)
    truth = ros.collect(Odometry, '/igv_t/ground_truth/odom', qos.SENSOR)
    status = ros.collect(LocalizationStatus, '/igv_t/localization/status', qos.STATUS)
    state = ros.collect(VehicleState, '/igv_t/vehicle/state', qos.STATUS)
    with ros.paused():
        client = ActionClient(ros.node, FollowRoute, '/igv_t/follow_route')
    ros.heartbeat = ros.start_heartbeat()
    wait_stack_ready(nodes, client, truth, status, state)
    return client, truth, status, state


def bring_up(nodes, ros, rtf=2.0):
    client, truth, _, _ = start_vehicle_stack(nodes, ros, rtf=rtf)
    return client, truth


def wait_stack_ready(nodes, client, truth, status, state, timeout_s=60.0):
    """Each condition in turn, so a timeout says which one (and why the follower is not ready)."""
    wait_for(client.server_is_ready, timeout_s, 'the follow_route action server', nodes.group)
    wait_for(lambda: truth, timeout_s, 'ground truth', nodes.group)
    wait_for(lambda: status and status[-1].mode == LocalizationStatus.MODE_RTK_FIXED, timeout_s,
             'an RTK-fixed localization status', nodes.group)
    wait_for(lambda: state and not state[-1].safety_reason, timeout_s,
             lambda: 'a ready route follower (last reason: '
                     f"{state[-1].safety_reason if state else 'no vehicle/state'})", nodes.group)


def send(client, group, feedback=None, **goal):
    future = client.send_goal_async(FollowRoute.Goal(**goal), feedback_callback=feedback)
    wait_for(future.done, 10.0, 'the goal to be accepted', group)
    handle = future.result()
    assert handle.accepted
    return handle


def result_of(handle, group, timeout_s=60.0):
    future = handle.get_result_async()
    wait_for(future.done, timeout_s, 'the goal result', group)
    return future.result()


def moved(truth, since):
    x0, y0 = truth[since].pose.pose.position.x, truth[since].pose.pose.position.y
    return max(math.hypot(m.pose.pose.position.x - x0, m.pose.pose.position.y - y0) for m in truth[since:])


def path_msg(points):
    path = [PoseStamped() for _ in points]
    for pose, (x, y) in zip(path, points):
        pose.header.frame_id = 'map'
        pose.pose.position.x, pose.pose.position.y = x, y
    return path


def test_bad_goals_end_with_a_reason_and_the_vehicle_does_not_move(nodes, ros):
    client, truth = bring_up(nodes, ros)
    since = len(truth) - 1
    cases = {
        Result.UNKNOWN_ROUTE: FollowRoute.Goal(route_id='no_such_route'),
        Result.INVALID_PATH: FollowRoute.Goal(),                                   # neither id nor path
    }
    nan_goal = FollowRoute.Goal()
    nan_goal.path.header.frame_id = 'map'
    nan_goal.path.poses = path_msg([(60.0, -110.0), (60.0, float('nan')), (60.0, -100.0)])
    jump_goal = FollowRoute.Goal()
    jump_goal.path.header.frame_id = 'map'
    jump_goal.path.poses = path_msg([(60.0, -110.0), (60.0, -108.0), (60.0, -50.0)])
    off_map = FollowRoute.Goal()
    off_map.path.header.frame_id = 'map'
    off_map.path.poses = path_msg([(60.0 + i, -110.0 - 3 * i) for i in range(0, 60)])
    messages = {}
    for code, goal in list(cases.items()) + [(Result.INVALID_PATH, nan_goal), (Result.INVALID_PATH, jump_goal),
                                              (Result.INVALID_PATH, off_map)]:
        handle = send(client, nodes.group, route_id=goal.route_id, path=goal.path)
        res = result_of(handle, nodes.group, 10.0).result
        assert res.error_code == code, res.error_msg
        messages.setdefault(code, []).append(res.error_msg)
    assert "unknown route id 'no_such_route'" in messages[Result.UNKNOWN_ROUTE][0]
    assert 'moc1119_export_yard_to_crane' in messages[Result.UNKNOWN_ROUTE][0]      # lists known routes
    invalid = messages[Result.INVALID_PATH]
    assert 'neither' in invalid[0] and 'not finite' in invalid[1] and 'jump' in invalid[2] and 'off the map' in invalid[3]
    time.sleep(1.0)
    assert moved(truth, since) < 0.02, 'a rejected goal moved the vehicle'
    for proc in nodes.group.procs:
        assert proc.popen.poll() is None, f'{proc.name} died on bad goals'


def test_follow_route_to_the_crane_bay_with_feedback(nodes, ros):
    client, truth = bring_up(nodes, ros)
    feedback = []
    handle = send(client, nodes.group, lambda fb: feedback.append(fb.feedback.progress),
                  route_id='moc1119_export_yard_to_crane', precise_stop=True)
    wrapped = result_of(handle, nodes.group, 90.0)
    res = wrapped.result
    assert res.error_code == Result.NONE, res.error_msg
    assert len(feedback) >= 10
    assert feedback[-1].route_id == 'moc1119_export_yard_to_crane'
    travelled = [f.distance_travelled_m for f in feedback]
    # Progress is the estimate projected on the route. Under way in open sky it never steps back by
    # more than the estimate's noise (a centimetre). It may step back by the estimate's own corrections,
    # well inside its protection level, while the just-initialized filter settles before the start and
    # when RTK fixed returns after the crane girder's shadow (the antenna enters it 8 m before the stop).
    def worst_back(steps):
        return min(steps, default=(0.0, 0.0))
    pairs = list(zip(feedback, feedback[1:]))
    open_sky = worst_back([(b.distance_travelled_m - a.distance_travelled_m, a.distance_travelled_m)
                           for a, b in pairs if a.speed_mps > 0.1 and a.distance_remaining_m > 10.0])
    anywhere = worst_back([(b.distance_travelled_m - a.distance_travelled_m, a.distance_travelled_m)
                           for a, b in pairs])
    assert open_sky[0] > -0.01, f'progress went back {-open_sky[0] * 100:.1f} cm at {open_sky[1]:.2f} m'
    assert anywhere[0] > -0.05, f'progress went back {-anywhere[0] * 100:.1f} cm at {anywhere[1]:.2f} m'
    assert travelled[-1] > 50.0
    assert max(f.speed_mps for f in feedback) > 3.5                      # 15 km/h yard limit is 4.17 m/s
    assert max(abs(f.cross_track_error_m) for f in feedback) < 0.10
    wait_for(lambda: abs(truth[-1].twist.twist.linear.x) < 1e-3, 10.0, 'standstill')
    p = truth[-1].pose.pose.position
    assert math.hypot(p.x - CB1_STOP[0], p.y - CB1_STOP[1]) <= 0.10
    assert res.stop_error_m <= 0.05 and res.distance_travelled_m > 59.0


def test_cancel_and_preempt_stop_the_vehicle(nodes, ros):
    client, truth = bring_up(nodes, ros)
    first = send(client, nodes.group, route_id='moc1119_export_full', precise_stop=True)
    wait_for(lambda: truth[-1].twist.twist.linear.x > 2.0, 30.0, 'the vehicle to reach 2 m/s', nodes.group)
    second = send(client, nodes.group, route_id='moc1119_export_full', precise_stop=True)
    assert result_of(first, nodes.group, 10.0).result.error_code == Result.PREEMPTED
    wait_for(lambda: truth[-1].twist.twist.linear.x > 3.0, 30.0, 'the new goal to drive on', nodes.group)
    cancel = second.cancel_goal_async()
    wait_for(cancel.done, 10.0, 'the cancel response', nodes.group)
    wrapped = result_of(second, nodes.group, 10.0)
    assert wrapped.result.error_code == Result.CANCELED
    wait_for(lambda: abs(truth[-1].twist.twist.linear.x) < 1e-3, 20.0, 'the vehicle to stop after cancel',
             nodes.group)


def test_vehicle_stops_when_localization_dies_or_commands_stop(nodes, ros):
    client, truth = bring_up(nodes, ros)
    commands = ros.collect(DriveCommand, '/igv_t/cmd_drive', qos.COMMAND)
    handle = send(client, nodes.group, route_id='moc1119_export_full', precise_stop=True)
    wait_for(lambda: truth[-1].twist.twist.linear.x > 3.0, 30.0, 'the vehicle to reach 3 m/s', nodes.group)
    localization = next(p for p in nodes.group.procs if p.name == 'localization')
    localization.popen.send_signal(signal.SIGKILL)
    localization.popen.wait()
    nodes.group.procs.remove(localization)          # its death is the point of this test
    res = result_of(handle, None, 15.0).result
    assert res.error_code == Result.LOCALIZATION_LOST and 'old' in res.error_msg
    wait_for(lambda: abs(truth[-1].twist.twist.linear.x) < 1e-3, 20.0, 'a stop without localization')
    assert commands[-1].speed_mps == 0.0
    # and without any command at all (route follower killed while driving) the simulator brakes
    nodes('localization')
    route_follower = next(p for p in nodes.group.procs if p.name == 'route_follower')
    status = ros.collect(LocalizationStatus, '/igv_t/localization/status', qos.STATUS)
    state = ros.collect(VehicleState, '/igv_t/vehicle/state', qos.STATUS)
    wait_for(lambda: status and status[-1].mode == LocalizationStatus.MODE_RTK_FIXED, 30.0, 'localization again')
    # the follower refuses a goal until the restarted localization's poses reach it, too
    wait_for(lambda: state and not state[-1].safety_reason, 30.0,
             lambda: f"the follower's fresh pose (last reason: {state[-1].safety_reason if state else 'none'})")
    handle = send(client, nodes.group, route_id='moc1119_export_full', precise_stop=True)
    wait_for(lambda: truth[-1].twist.twist.linear.x > 3.0, 30.0, 'driving again', nodes.group)
    route_follower.popen.send_signal(signal.SIGKILL)
    route_follower.popen.wait()
    nodes.group.procs.remove(route_follower)
    wait_for(lambda: abs(truth[-1].twist.twist.linear.x) < 1e-3, 20.0, 'a stop without commands')
