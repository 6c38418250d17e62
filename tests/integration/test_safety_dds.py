"""Safety stops over DDS: obstacle, e-stop, fleet heartbeat loss, zone speed limit."""

import numpy as np
import pytest
from geometry_msgs.msg import Pose, PoseArray
from std_msgs.msg import Bool

from smartgate_common import qos
from smartgate_interfaces.action import FollowRoute
from smartgate_interfaces.msg import ZoneSpeedLimit

from ..conftest import wait_for
from .test_route_follower_dds import bring_up, result_of, send

pytestmark = pytest.mark.integration
Result = FollowRoute.Result
FRONT_M = 12.0                   # front bumper ahead of base_link [m]


def test_vehicle_stops_short_of_an_obstacle_and_on_e_stop(nodes, ros):
    client, truth = bring_up(nodes, ros)
    with ros.paused():
        obstacles = ros.node.create_publisher(PoseArray, '/sim/obstacles', qos.LATCHED)
    rock = PoseArray()
    rock.header.frame_id = 'map'
    rock.poses = [Pose()]
    rock.poses[0].position.x, rock.poses[0].position.y = 60.0, -70.0      # on the yard lane, 1 m radius
    obstacles.publish(rock)
    handle = send(client, nodes.group, route_id='moc1119_export_yard_to_crane', precise_stop=True)
    wait_for(lambda: truth[-1].twist.twist.linear.x > 1.0, 20.0, 'the vehicle to start', nodes.group)
    wait_for(lambda: truth[-1].twist.twist.linear.x < 1e-3, 40.0, 'a stop before the obstacle', nodes.group)
    front_y = truth[-1].pose.pose.position.y + FRONT_M
    gap = (-70.0 - 1.0) - front_y
    assert 3.0 < gap < 7.0, f'stopped {gap:.2f} m short of the obstacle (margin 5 m)'
    assert not handle.get_result_async().done(), 'an obstacle ahead holds the goal, it does not end it'
    # the obstacle goes away: the vehicle drives on to the crane bay
    rock.poses = []
    obstacles.publish(rock)
    wait_for(lambda: truth[-1].twist.twist.linear.x > 0.5, 20.0, 'the vehicle to drive on', nodes.group)
    # e-stop: hard braking, the goal ends with SAFETY_STOP naming it
    with ros.paused():
        estop = ros.node.create_publisher(Bool, '/igv_t/estop', qos.LATCHED)
    estop.publish(Bool(data=True))
    res = result_of(handle, nodes.group, 20.0).result
    assert res.error_code == Result.SAFETY_STOP and 'e-stop' in res.error_msg
    wait_for(lambda: truth[-1].twist.twist.linear.x < 1e-3, 10.0, 'the e-stop to halt the vehicle', nodes.group)
    refused = result_of(send(client, nodes.group, route_id='moc1119_export_yard_to_crane'), nodes.group, 10.0)
    assert refused.result.error_code == Result.SAFETY_STOP and 'cannot start' in refused.result.error_msg


def test_heartbeat_loss_brakes_within_a_second(nodes, ros):
    """JT/T 1377-2021: braking starts within 1 s of the last heartbeat, read off ground truth (the first
    sample decelerating by more than 0.5 m/s^2) against the stamp of the last heartbeat published."""
    client, truth = bring_up(nodes, ros)
    handle = send(client, nodes.group, route_id='moc1119_export_full', precise_stop=True)
    wait_for(lambda: truth[-1].twist.twist.linear.x > 3.5, 30.0, 'the vehicle to reach 3.5 m/s', nodes.group)
    with ros.paused():
        ros.heartbeat.cancel()
        last_beat = ros.heartbeat_stamps[-1]
    res = result_of(handle, nodes.group, 20.0).result
    assert res.error_code == Result.SAFETY_STOP and 'heartbeat' in res.error_msg
    wait_for(lambda: truth[-1].twist.twist.linear.x < 1e-3, 10.0, 'the vehicle to stop', nodes.group)
    samples = [(m.header.stamp.sec + m.header.stamp.nanosec * 1e-9, m.twist.twist.linear.x) for m in truth]
    t = np.array([s for s, _ in samples])
    v = np.array([s for _, s in samples])
    decel = -np.diff(v) / np.diff(t)
    after = np.flatnonzero((t[1:] > last_beat) & (decel > 0.5))
    assert after.size, 'no braking seen after the heartbeat stopped'
    assert not ((t[1:] > last_beat - 1.0) & (t[1:] <= last_beat) & (decel > 0.5)).any(), 'braked with a heartbeat'
    braking = t[1 + after[0]]
    assert braking - last_beat <= 1.0, f'braking began {braking - last_beat:.2f} s after the last heartbeat'


def test_zone_speed_limit_is_obeyed(nodes, ros):
    client, truth = bring_up(nodes, ros)
    with ros.paused():
        limits = ros.node.create_publisher(ZoneSpeedLimit, '/fleet/zone_speed_limits', qos.LATCHED_LIST)
    wait_for(lambda: limits.get_subscription_count() > 0, 10.0, 'the route follower to subscribe')
    limits.publish(ZoneSpeedLimit(zone_id='no_such_zone', max_speed_mps=0.0))
    limits.publish(ZoneSpeedLimit(zone_id='zone_vn_export_yard', max_speed_mps=2.0))
    log = next(p for p in nodes.group.procs if p.name == 'route_follower').log_path
    wait_for(lambda: 'limited to 7.2 km/h' in log.read_text() and "unknown zone 'no_such_zone'" in log.read_text(),
             10.0, 'the route follower to take the limit and refuse the unknown zone')
    handle = send(client, nodes.group, route_id='moc1119_export_yard_to_crane', precise_stop=True)
    assert result_of(handle, nodes.group, 90.0).result.error_code == Result.NONE
    top = max(m.twist.twist.linear.x for m in truth)
    assert 1.7 < top <= 2.0 + 0.05, f'top speed {top:.2f} m/s under a 2.0 m/s zone limit'
