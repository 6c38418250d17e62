"""The integrity interlock end to end over DDS: through the customs canopy (a GNSS outage zone on the
map) the vehicle creeps while the protection level is high, and holds when integrity is lost."""
import pytest

from smartgate_interfaces.msg import LocalizationStatus

from ..conftest import wait_for
from .test_route_follower_dds import send, start_vehicle_stack

pytestmark = pytest.mark.integration
CANOPY_Y = (285.0 - 9.5, 315.0)      # base_link y while the antenna (9.5 m ahead) is under the canopy [m]


def bring_up_at_lane_entry(nodes, ros, **route_follower_params):
    return start_vehicle_stack(nodes, ros, start_node_id='vn_exp_lane_entry', seed=9, **route_follower_params)


def test_vehicle_creeps_through_the_canopy_while_the_protection_level_is_high(nodes, ros):
    client, truth, status, state = bring_up_at_lane_entry(nodes, ros)
    send(client, nodes.group, route_id='moc1119_export_crane_to_km0', precise_stop=True)
    wait_for(lambda: truth[-1].pose.pose.position.y > CANOPY_Y[1] + 20.0, 90.0, 'the vehicle to pass the canopy',
             nodes.group)
    def stamp(m):
        return m.header.stamp.sec + m.header.stamp.nanosec * 1e-9
    moving = next(stamp(m) for m in truth if m.twist.twist.linear.x > 1.0)      # start-up is not the point
    high = [stamp(s) for s in status if s.protection_level_m > 0.5 and stamp(s) > moving]
    assert high, 'the protection level never rose above the 0.5 m creep threshold'
    # once it has been high for the time braking from 20 km/h takes (comfort 1 m/s^2 plus lag), creep
    creeping = [m.twist.twist.linear.x for m in truth if high[0] + 4.5 <= stamp(m) <= high[-1]]
    before = [m.twist.twist.linear.x for m in truth if 200.0 < m.pose.pose.position.y < 250.0]
    assert max(before) > 8.0, 'the vehicle did not reach 30 km/h before the canopy'
    assert creeping and max(creeping) <= 2.0 + 0.1, f'{max(creeping):.2f} m/s while the protection level was high'
    y_high = [m.pose.pose.position.y for m in truth if high[0] <= stamp(m) <= high[-1]]
    assert CANOPY_Y[0] - 2.0 < y_high[0] < CANOPY_Y[1], f'the protection level rose at y = {y_high[0]:.1f} m'
    modes = {s.mode for s in status}
    assert LocalizationStatus.MODE_RADIO_AIDED in modes, f'modes seen: {sorted(modes)}'
    assert max(s.protection_level_m for s in status) > 0.5
    assert any('protection level' in s.safety_reason for s in state)


def test_vehicle_holds_when_integrity_is_lost(nodes, ros):
    """With the hold threshold below the protection level 5G gives, the canopy is an integrity loss."""
    client, truth, status, state = bring_up_at_lane_entry(nodes, ros, **{'safety.stop_protection_level_m': 0.5})
    handle = send(client, nodes.group, route_id='moc1119_export_crane_to_km0', precise_stop=True)
    wait_for(lambda: state and 'integrity lost' in state[-1].safety_reason, 60.0, 'an integrity hold', nodes.group)
    wait_for(lambda: abs(truth[-1].twist.twist.linear.x) < 1e-3, 20.0, 'the vehicle to stand', nodes.group)
    y = truth[-1].pose.pose.position.y
    assert CANOPY_Y[0] - 20.0 < y < CANOPY_Y[1], f'held at y = {y:.1f} m, not at the canopy'
    assert not handle.get_result_async().done(), 'a hold keeps the goal; it resumes when integrity returns'
