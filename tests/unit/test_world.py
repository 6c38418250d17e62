"""simulation.world: every vehicle and crane bay on one clock; vehicles see each other; boxes left on a
deck leave the bay with the vehicle and come back into a bay's physics with it."""
import math

import pytest

from smartgate_core.crane.layout import BayParams, bay_from_map
from smartgate_core.crane.params import CraneParams
from smartgate_core.crane.physics import CranePhysics, WorldContainer
from smartgate_core.driving.command import DriveCommand
from smartgate_core.simulation.disturbances import DisturbanceParams
from smartgate_core.simulation.vehicle import VehicleSimulator
from smartgate_core.simulation.vehicle_model import VehicleParams, VehicleState
from smartgate_core.simulation.world import BAY_REACH_M, CraneInWorld, World, vehicle_discs

VEHICLE = VehicleParams()
CALM = DisturbanceParams(crossfall=0.0, mean_wind_mps=(0.0, 0.0), gust_rate_hz=0.0, payload_mass_error=0.0,
                         payload_cg_offset_m=0.0)
BOX = 'CSQU3054383'


def vehicle(x, y, yaw, seed=1):
    return VehicleSimulator(VEHICLE, VehicleState(x, y, yaw), seed, disturbance_params=CALM)


def test_a_vehicle_body_is_a_row_of_discs_from_bumper_to_bumper():
    discs = vehicle_discs(vehicle(10.0, 0.0, 0.0))
    assert len(discs) == 5 and all(r == pytest.approx(1.5) for _, _, r in discs)
    assert discs[0][0] - 1.5 == pytest.approx(10.0 - VEHICLE.rear_overhang_m)
    assert discs[-1][0] + 1.5 == pytest.approx(10.0 - VEHICLE.rear_overhang_m + VEHICLE.length_m)


def test_vehicles_see_each_other_on_the_forward_range_sensor():
    """A vehicle standing 40 m ahead (rear bumper) is seen 40 m - 12 m (front bumper) away by the one behind;
    the one in front sees nothing behind it."""
    world = World({'a': vehicle(0.0, 0.0, 0.0, 1), 'b': vehicle(40.0 + VEHICLE.rear_overhang_m, 0.0, 0.0, 2)})
    seen = {'a': [], 'b': []}
    for _ in range(20):
        for vid, out in world.step({}).items():
            if out.range_m is not None:
                seen[vid].append(out.range_m)
    assert seen['a'] and all(r == pytest.approx(40.0 - 12.0, abs=0.3) for r in seen['a'])
    assert seen['b'] and all(math.isinf(r) for r in seen['b'])
    assert world.t_s == pytest.approx(0.2)


@pytest.fixture(scope='module')
def bay(real_map):
    return bay_from_map(real_map, 'vn_asc_1', VEHICLE.deck_centre_x_m, BayParams())


def _world_at_the_bay(real_map, bay, box_on_deck):
    """igv_01 at the crane bay's stop point under vn_asc_1; the box on its deck or parked (carried)."""
    x, y = real_map.stop_pose(bay.stop_node_id)
    box = WorldContainer(BOX, 12.192, 2.896, 24000.0, bay.layout.vehicle_site().pose, BayParams().deck_height_m)
    physics = CranePhysics(CraneParams(), bay.layout, [box], seed=3)
    world = World({'igv_01': vehicle(x, y, bay.origin.yaw_rad)}, {'vn_asc_1': CraneInWorld(physics, bay)})
    if not box_on_deck:
        physics.park(BOX)
    return world, physics


def test_a_box_left_on_the_deck_leaves_with_the_vehicle(real_map, bay):
    world, physics = _world_at_the_bay(real_map, bay, box_on_deck=True)
    for _ in range(100):                                   # standing at the bay: the box is on its deck
        world.step({})
    assert world.cranes['vn_asc_1'].vehicle_id == 'igv_01'
    assert world.cargo['igv_01'] == {BOX: 24000.0}
    assert world.vehicles['igv_01'].model.payload_kg == pytest.approx(24000.0)
    for _ in range(2000):                                  # drive off north at 3 m/s
        world.step({'igv_01': DriveCommand(3.0)})
        if world.cranes['vn_asc_1'].vehicle_id is None:
            break
    assert world.cranes['vn_asc_1'].vehicle_id is None
    assert BOX in physics.parked and BOX not in physics.truth().containers
    assert world.cargo['igv_01'] == {BOX: 24000.0}          # it carries the box on
    assert world.vehicles['igv_01'].model.payload_kg == pytest.approx(24000.0)
    assert any(f'{BOX} leaves vn_asc_1 on igv_01' in e for _, e in world.events)


def test_a_carried_box_comes_back_into_the_bay_on_the_deck(real_map, bay):
    """The vehicle starts 25 m short of the stop carrying the box: entering the bay brings the box into the
    physics on the deck, where it rides in and stays."""
    world, physics = _world_at_the_bay(real_map, bay, box_on_deck=False)
    sim = world.vehicles['igv_01']
    sim.model.state.y_m -= 25.0                             # heading north: 25 m before the stop
    world.cargo['igv_01'] = {BOX: 24000.0}
    for _ in range(1500):
        world.step({'igv_01': DriveCommand(2.0)})
        if world.cranes['vn_asc_1'].vehicle_id:
            break
    assert world.cranes['vn_asc_1'].vehicle_id == 'igv_01'
    assert BOX not in physics.parked
    deck_x = bay.deck_pose(sim.model.state.x_m, sim.model.state.y_m, sim.model.state.yaw_rad, 4.5).x_m
    assert -BAY_REACH_M - 0.5 < deck_x < -BAY_REACH_M + 0.5
    for _ in range(300):
        world.step({'igv_01': DriveCommand(2.0)})
    truth = physics.truth()
    assert truth.containers[BOX].supported
    assert math.hypot(truth.containers[BOX].pose.x_m - truth.deck.x_m,
                      truth.containers[BOX].pose.y_m - truth.deck.y_m) < 0.05     # it rode in on the deck
    assert world.cargo['igv_01'] == {BOX: 24000.0}
