"""The simulated world on one clock: every vehicle and every crane bay, stepped together.

Vehicles see each other: each one's forward range sensor sees the others' bodies (a row of discs along
each body) besides the static obstacles. A crane bay's physics (MuJoCo) moves its deck with whichever
vehicle stands in the bay; the boxes left on that deck leave with the vehicle when it drives off (they
are parked out of that bay's physics, and the vehicle carries their true mass) and come back onto its
deck when it enters a bay whose physics knows them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..crane.layout import CraneBay, Pose2D
from ..crane.physics import CranePhysics
from ..driving.command import DriveCommand
from .vehicle import VehicleSimulator

BAY_REACH_M = 15.0            # a vehicle whose deck middle is this close along the rails is at the bay [m]
BAY_LATERAL_M = 2.0           # ... and this close across them (on the bay's lane) [m]
AWAY = Pose2D(-500.0, 0.0, 0.0)     # where a bay's deck waits while no vehicle is there (crane frame)


@dataclass
class CraneInWorld:
    physics: CranePhysics
    bay: CraneBay
    vehicle_id: str | None = None        # the vehicle whose deck the physics moves


@dataclass
class World:
    vehicles: dict                       # vehicle id -> VehicleSimulator (the same dt for all)
    cranes: dict = field(default_factory=dict)       # crane id -> CraneInWorld
    deck_ahead_m: float = 4.5            # middle of a vehicle's deck ahead of its base_link [m]
    obstacles: list = field(default_factory=list)    # static discs (x, y, radius) in the map frame [m]
    cargo: dict = field(default_factory=dict)        # vehicle id -> {container id: true mass [kg]}
    events: list = field(default_factory=list)       # what happened to boxes and decks, for the log

    def __post_init__(self):
        dts = {sim.dt_s for sim in self.vehicles.values()}
        if len(dts) > 1:
            raise ValueError(f'vehicles step with different periods {sorted(dts)}: one clock needs one period')
        self.dt_s = dts.pop() if dts else 0.01
        self.step_count = 0
        for vid in self.vehicles:
            self.cargo.setdefault(vid, {})
        for crane in self.cranes.values():
            crane.physics.set_vehicle_pose(AWAY, teleport=True)

    @property
    def t_s(self) -> float:
        return self.step_count * self.dt_s

    def step(self, commands: dict) -> dict:
        """Advance everything one period under the vehicles' drive commands (a vehicle without one gets a
        stop); return each vehicle's SimOutputs. Crane commands are applied to the physics directly."""
        bodies = {vid: vehicle_discs(sim) for vid, sim in self.vehicles.items()}
        outputs = {}
        for vid, sim in self.vehicles.items():
            sim.obstacles = self.obstacles + [d for other, discs in bodies.items() if other != vid for d in discs]
            outputs[vid] = sim.step(commands.get(vid, DriveCommand()))
        for cid, crane in self.cranes.items():
            self._sync_bay(cid, crane)
            crane.physics.step(self.dt_s)
        self.step_count += 1
        return outputs

    def _sync_bay(self, cid: str, crane: CraneInWorld):
        here, deck = self._vehicle_at(crane.bay)
        if here != crane.vehicle_id:
            if crane.vehicle_id is not None:
                self._leave(cid, crane)
            crane.vehicle_id = here
            crane.physics.set_vehicle_pose(deck if here else AWAY, teleport=True)
            if here:
                speed = self.vehicles[here].model.state.speed_mps
                self._arrive(cid, crane, here, (speed * math.cos(deck.yaw_rad), speed * math.sin(deck.yaw_rad)))
        elif here:
            crane.physics.set_vehicle_pose(deck)
            on_deck = crane.physics.boxes_on_deck()
            masses = {b.container_id: b.mass_kg for b in crane.physics.containers}
            self.cargo[here] = {box: masses[box] for box in on_deck}
            self.vehicles[here].model.payload_kg = sum(self.cargo[here].values())

    def _vehicle_at(self, bay: CraneBay):
        """(id, deck pose in the crane frame) of the vehicle standing in this bay, or (None, None)."""
        best, best_deck = None, None
        for vid, sim in self.vehicles.items():
            s = sim.model.state
            deck = bay.deck_pose(s.x_m, s.y_m, s.yaw_rad, self.deck_ahead_m)
            if abs(deck.x_m) < BAY_REACH_M and abs(deck.y_m) < BAY_LATERAL_M and abs(deck.yaw_rad) < 0.5:
                if best is None or abs(deck.x_m) < abs(best_deck.x_m):
                    best, best_deck = vid, deck
        return best, best_deck

    def _leave(self, cid: str, crane: CraneInWorld):
        vid = crane.vehicle_id
        for box in crane.physics.boxes_on_deck():
            crane.physics.park(box)
            self.events.append((self.t_s, f'{box} leaves {cid} on {vid}'))

    def _arrive(self, cid: str, crane: CraneInWorld, vid: str, deck_velocity_mps):
        known = {b.container_id for b in crane.physics.containers}
        for box in self.cargo.get(vid, {}):
            if box in known:
                crane.physics.unpark(box, deck_velocity_mps)
                self.events.append((self.t_s, f'{box} arrives at {cid} on {vid}'))
            else:
                self.events.append((self.t_s, f'{box} on {vid} is not in the physics of {cid}: not simulated there'))


def vehicle_discs(sim: VehicleSimulator) -> list:
    """The vehicle's body as a row of discs (x, y, radius) from its rear bumper to its front bumper [m]."""
    p, s = sim.vehicle, sim.model.state
    radius = 0.5 * p.width_m
    n = max(1, math.ceil(p.length_m / p.width_m))
    step = p.length_m / n
    c, sn = math.cos(s.yaw_rad), math.sin(s.yaw_rad)
    return [(s.x_m + a * c, s.y_m + a * sn, radius)
            for a in (-p.rear_overhang_m + (k + 0.5) * step for k in range(n))]

