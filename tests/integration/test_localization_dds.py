"""The simulator and localization as real processes: what arrives over DDS."""
import math

import pytest
from nav_msgs.msg import Odometry
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import NavSatFix

from smartgate_common import qos
from smartgate_interfaces.msg import LocalizationStatus
from smartgate_interfaces.srv import FromLL, ToLL

from ..conftest import wait_for

pytestmark = pytest.mark.integration
START = (60.0, -110.0)        # vn_exp_park_1 in the map frame [m]


def test_localization_publishes_pose_status_and_converts_coordinates(nodes, ros):
    nodes('world_sim', start_node_id='vn_exp_park_1', seed=3)
    nodes('localization')
    clock = ros.collect(Clock, '/clock', qos.CLOCK)
    fixes = ros.collect(NavSatFix, '/igv_t/gnss/fix', qos.SENSOR)
    poses = ros.collect(Odometry, '/igv_t/localization/odometry', qos.SENSOR)
    status = ros.collect(LocalizationStatus, '/igv_t/localization/status', qos.STATUS)
    wait_for(lambda: len(poses) >= 100 and fixes and clock and status
             and status[-1].mode == LocalizationStatus.MODE_RTK_FIXED,
             40.0, 'GNSS fixes, the clock, 100 poses and an RTK-fixed status', nodes.group)

    # GNSS: WGS 84 near the site, with a known covariance
    fix = fixes[-1]
    assert 21.9 < fix.latitude < 22.0 and 106.6 < fix.longitude < 106.8
    assert fix.position_covariance_type == NavSatFix.COVARIANCE_TYPE_DIAGONAL_KNOWN
    assert fix.header.frame_id == 'gnss_link'
    # the pose: REP 105 frames, on the parking spot (base_link, not the antenna 9.5 m ahead)
    pose = poses[-1]
    assert (pose.header.frame_id, pose.child_frame_id) == ('map', 'base_link')
    p = pose.pose.pose.position
    assert math.hypot(p.x - START[0], p.y - START[1]) < 0.10
    assert pose.pose.covariance[0] > 0.0 and pose.pose.covariance[7] > 0.0
    # stamped on simulated time, published at >= 50 Hz of it
    stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in poses[-50:]]
    assert stamps[-1] < clock[-1].clock.sec + 1.0 < 120.0
    assert (stamps[-1] - stamps[0]) / (len(stamps) - 1) <= 0.021
    # status: integrity figures and per-sensor counters
    st = status[-1]
    assert 0.0 < st.protection_level_m < 0.5
    used = dict(zip(st.sensors, st.measurements_used))
    assert used['gnss'] > 5 and used['gnss_heading'] > 5 and used['imu'] > 50 and used['odometry'] > 50
    assert used['fiveg_range'] > 5 and used['fiveg_fix'] >= 1
    rejected = dict(zip(st.sensors, st.measurements_rejected))
    assert rejected['gnss'] == 0 and rejected['imu'] == 0     # only 5G ranges out of line of sight are refused

    # FromLL / ToLL round trip through the services
    with ros.paused():
        to_ll = ros.node.create_client(ToLL, '/igv_t/to_ll')
        from_ll = ros.node.create_client(FromLL, '/igv_t/from_ll')
    assert to_ll.wait_for_service(timeout_sec=10.0) and from_ll.wait_for_service(timeout_sec=10.0)
    request = ToLL.Request()
    request.map_point.x, request.map_point.y, request.map_point.z = 123.4, -56.7, 1.5
    geo = to_ll.call(request, timeout_sec=10.0)
    assert geo.success
    back = from_ll.call(FromLL.Request(latitude_deg=geo.latitude_deg, longitude_deg=geo.longitude_deg,
                                       altitude_m=geo.altitude_m), timeout_sec=10.0)
    assert back.success
    assert math.hypot(back.map_point.x - 123.4, back.map_point.y + 56.7) < 1e-3
    bad = from_ll.call(FromLL.Request(latitude_deg=float('nan'), longitude_deg=106.7), timeout_sec=10.0)
    assert not bad.success and 'latitude' in bad.message


def test_localization_rejects_and_counts_bad_fixes(nodes, ros):
    nodes('world_sim', start_node_id='vn_exp_park_1', seed=4)
    nodes('localization')
    status = ros.collect(LocalizationStatus, '/igv_t/localization/status', qos.STATUS)
    poses = ros.collect(Odometry, '/igv_t/localization/odometry', qos.SENSOR)
    wait_for(lambda: status and status[-1].mode == LocalizationStatus.MODE_RTK_FIXED, 40.0,
             'localization to initialize', nodes.group)
    with ros.paused():
        pub = ros.node.create_publisher(NavSatFix, '/igv_t/gnss/fix', qos.SENSOR)
    wait_for(lambda: pub.get_subscription_count() > 0, 10.0, 'localization to subscribe to our publisher')
    nan_fix = NavSatFix(latitude=float('nan'), longitude=106.7)
    nan_fix.position_covariance_type = NavSatFix.COVARIANCE_TYPE_DIAGONAL_KNOWN
    nan_fix.position_covariance = [1e-4, 0.0, 0.0, 0.0, 1e-4, 0.0, 0.0, 0.0, 1e-4]
    nan_fix.status.status = 2
    not_psd = NavSatFix(latitude=21.96, longitude=106.702, altitude=250.0)
    not_psd.position_covariance_type = NavSatFix.COVARIANCE_TYPE_DIAGONAL_KNOWN
    not_psd.position_covariance = [-1.0, 0.0, 0.0, 0.0, 1e-4, 0.0, 0.0, 0.0, 1e-4]
    not_psd.status.status = 2
    no_fix = NavSatFix(latitude=21.96, longitude=106.702)
    no_fix.status.status = -1
    # a fix 20 m off, stamped now: gated out by the Mahalanobis test
    far = NavSatFix(latitude=21.96 + 20 / 110740.0, longitude=106.702, altitude=254.5)
    far.position_covariance_type = NavSatFix.COVARIANCE_TYPE_DIAGONAL_KNOWN
    far.position_covariance = [1e-4, 0.0, 0.0, 0.0, 1e-4, 0.0, 0.0, 0.0, 4e-4]
    far.status.status = 2
    for msg in (nan_fix, not_psd, no_fix, far):
        msg.header.stamp = ros.node.get_clock().now().to_msg()
        pub.publish(msg)

    def rejected():
        return dict(zip(status[-1].sensors, status[-1].measurements_rejected)).get('gnss', 0)
    wait_for(lambda: rejected() >= 4, 20.0, 'four rejected GNSS fixes', nodes.group)
    p = poses[-1].pose.pose.position
    assert math.hypot(p.x - START[0], p.y - START[1]) < 0.10, 'a rejected fix moved the estimate'
    assert status[-1].mode == LocalizationStatus.MODE_RTK_FIXED
