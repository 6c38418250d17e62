"""crane.bench: the history checker sees unsafe actions in real physics, the sway figures separate shaped
from unshaped moves, the figures come from the records, and config/crane.yaml is the simulated cranes."""
import dataclasses
from pathlib import Path

import pytest
import yaml

from smartgate_core.crane.bench import (CraneWorld, BayVehicle, MoveRecord, RunRecord, SwayRecord, VEHICLE_ID,
                                        check_history, rigid_cycle_s, run_sway_move, summarize)
from smartgate_core.crane.config import GROUPS, CraneConfig, load_config
from smartgate_core.crane.cycle import Lift
from smartgate_core.crane.interface import LOCK, UNLOCK, CraneCommand
from smartgate_core.crane.layout import Pose2D
from smartgate_core.crane.motion import Waypoint
from smartgate_core.crane.physics import WorldContainer

import numpy as np

CONFIG = CraneConfig()
CONFIG_FILE = Path(__file__).resolve().parents[2] / 'config' / 'crane.yaml'


class Reckless:
    """A stand-in controller that does what it is told, for the checker to catch."""

    def __init__(self, commands):
        self.commands = commands
        self.status = type('S', (), {'phase': 'reckless'})()

    def step(self, t_s, sensors, vehicle, estop):
        return self.commands(t_s)


def world_with(box, z, stop=Pose2D()):
    return CraneWorld(CONFIG, (box,), BayVehicle(stop, np.random.default_rng(0)), 0, start_z_m=z)


def check(world, box, declared_kg):
    return check_history(world.history, (box,), {box.container_id: declared_kg}, CONFIG.cycle, CONFIG.interlock,
                         CONFIG.crane, world.events)


def test_the_checker_sees_an_unlock_in_the_air_and_the_drop():
    box = WorldContainer('A', 12.192, 2.591, 20000.0, Pose2D(0.0, 0.0), 4.0)
    world = world_with(box, 4.0 + 2.591)
    world.physics.attach('A')
    world.run(Reckless(lambda t: CraneCommand(twistlocks=UNLOCK)), lambda e: False, 2.0)
    violations, dropped = check(world, box, 20000.0)
    assert dropped == 1 and any('in the air' in v for v in violations)


def test_the_checker_sees_a_box_hoisted_on_three_twistlocks_or_over_its_declared_mass():
    def land_lock_hoist(t):
        if t < 1.5:
            return CraneCommand(hoist_mps=-0.1)
        return CraneCommand(hoist_mps=-0.02, twistlocks=LOCK) if t < 3.0 else CraneCommand(hoist_mps=0.3)
    for jammed, declared in ((frozenset({2}), 20000.0), (frozenset(), 15000.0)):
        box = WorldContainer('A', 12.192, 2.591, 20000.0, Pose2D(0.0, 0.0), 0.0)        # under the spreader
        world = world_with(box, 2.691, stop=Pose2D(0.0, -40.0))                        # no vehicle here
        world.physics.faults.jammed_twistlocks = jammed
        world.run(Reckless(land_lock_hoist), lambda e: False, 5.0)
        violations, dropped = check(world, box, declared)
        assert world.physics.truth().containers['A'].z_m > 0.3
        words = '3 twistlocks' if jammed else 'outside its declaration'
        assert dropped == 0 and any(words in v for v in violations)


def test_the_checker_sees_lowering_over_a_moving_vehicle():
    box = WorldContainer('B', 12.192, 2.591, 20000.0, Pose2D(0.0, 8.0), 0.0)
    world = world_with(box, 6.0)
    world.vehicle.moves_at_s = 0.0
    world.run(Reckless(lambda t: CraneCommand(hoist_mps=-0.3)), lambda e: False, 2.0)
    violations, _ = check(world, box, 20000.0)
    assert any('moving vehicle' in v for v in violations)


def test_shaped_travel_leaves_little_sway_where_a_trapezoid_leaves_much():
    shaped = run_sway_move(3, 'y', 10.0, 15000.0, True, False, CONFIG)
    unshaped = run_sway_move(3, 'y', 10.0, 15000.0, False, False, CONFIG)
    assert shaped.residual_m <= 0.05 < 0.2 < unshaped.residual_m


def test_the_rigid_reference_counts_the_same_process_times():
    slot, deck = CONFIG.layout.slot('slot_1'), CONFIG.layout.vehicle_site(VEHICLE_ID)
    lift = Lift('A', 12.192, 2.591, 20000.0)
    start = Waypoint(0.0, 0.0, 4.8)
    blind = rigid_cycle_s(CONFIG.crane, CONFIG.cycle, start, slot, deck, lift, (), (), False, False)
    aligned = rigid_cycle_s(CONFIG.crane, CONFIG.cycle, start, slot, deck, lift, (), (), True, True)
    assert aligned - blind == pytest.approx(2 * CONFIG.cycle.measure_time_s)
    crane, cycle = CONFIG.crane, CONFIG.cycle
    fixed = 2 * crane.twistlock_time_s + cycle.weigh_s + 2 * cycle.hover_m / cycle.landing_speed_mps
    travel = 2 * (5.0 / crane.trolley_speed_mps + crane.trolley_speed_mps / crane.trolley_accel_mps2)
    assert fixed + travel < blind < fixed + travel + 15.0


def test_the_figures_come_from_the_records():
    moves = [MoveRecord('slot_1', VEHICLE_ID, 33.0, 30.0, 0.01, 0.1),
             MoveRecord(VEHICLE_ID, 'slot_3', 36.0, 30.0, 0.03, 0.2)]
    blind = [RunRecord(1, None, False, moves, sim_s=70.0, wall_s=3.5, physics_rtf=100.0)]
    faults = [RunRecord(2, 'estop', False, [], 'estop', 'emergency stop', ['1.0: x'], 1, 30.0, 1.5, 50.0)]
    sway = [SwayRecord('y', 10.0, 0.0, True, False, 0.01), SwayRecord('y', 10.0, 0.0, False, False, 0.5)]
    figures = summarize(blind, [], faults, sway)
    assert figures['cycle_time_ratio'] == pytest.approx(34.5 / 30.0) == figures['blind_cycle_time_ratio']
    assert figures['moves_per_hour'] == pytest.approx(3600.0 / 34.5)
    assert figures['sway_residual_p95_m'] == 0.01 and figures['unshaped_sway_residual_p95_m'] == 0.5
    assert figures['deck_placement_error_p95_m'] == 0.01 and figures['slot_placement_error_p95_m'] == 0.03
    assert figures['interlock_violations'] == 1 and figures['dropped_containers'] == 1
    assert figures['physics_realtime_factor'] == pytest.approx(100.0 / (0.7 + 0.6))
    assert figures['fault_refusals'] == [('estop', 'estop', 'emergency stop')]


def test_config_file_holds_every_parameter_of_the_simulated_cranes():
    loaded = load_config(CONFIG_FILE)
    assert loaded == CraneConfig()                     # the records' defaults are the simulated cranes
    keys = set(yaml.safe_load(CONFIG_FILE.read_text())['/**']['ros__parameters'])
    expected = {f'{group}.{f.name}' for group, cls in GROUPS.items() for f in dataclasses.fields(cls)}
    assert keys - {'bay_slots_m'} == expected


def test_config_rejects_an_unknown_parameter(tmp_path):
    text = CONFIG_FILE.read_text().replace('crane.friction:', 'crane.fricton:')
    bad = tmp_path / 'crane.yaml'
    bad.write_text(text)
    with pytest.raises(KeyError, match='fricton'):
        load_config(bad)
