"""Plain records between the world (physics, vehicles) and the controller (the cycle executor).

The controller sees only these: sensor readings with their stamps, the vehicle's own report, and answers
with a command. Nothing here holds a reference to the physics.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

LOCK, UNLOCK = 'lock', 'unlock'
SENSOR_GROUPS = ('encoders', 'sway', 'load', 'switches')


@dataclass(frozen=True)
class CraneCommand:
    """Drive setpoints (velocity servos), the telescope, the twistlocks, and requests to the world."""

    gantry_mps: float = 0.0
    trolley_mps: float = 0.0
    hoist_mps: float = 0.0            # + raises the spreader
    skew_radps: float = 0.0
    spreader_length_m: float | None = None    # telescope target (None: hold)
    twistlocks: str | None = None     # LOCK, UNLOCK or None (leave them)
    capture: bool = False             # render the spreader cameras for the next reading
    hold_vehicle: str | None = None   # id of the vehicle that must not move (the crane is engaged over it)

    def is_still(self) -> bool:
        return self.gantry_mps == 0.0 and self.trolley_mps == 0.0 and self.hoist_mps == 0.0 \
            and self.skew_radps == 0.0


@dataclass(frozen=True)
class CameraFrame:
    camera: str
    t_s: float
    image: np.ndarray | None          # RGB, rows x cols x 3; None when the camera delivered nothing
    spreader_length_m: float          # telescope setting at capture (the camera's mounting depends on it)


@dataclass(frozen=True)
class CraneSensors:
    """One reading of every sensor; `stamps` holds when each group last updated (a frozen sensor keeps
    its old stamp, which is how staleness shows)."""

    t_s: float
    gantry_m: float
    trolley_m: float
    rope_m: float                     # rope length, sheave to headblock (hoist encoder)
    skew_rad: float
    spreader_length_m: float
    gantry_mps: float
    trolley_mps: float
    hoist_mps: float                  # + up
    sway_x_rad: float                 # rope angle from the vertical, load towards +x
    sway_y_rad: float                 # load towards +y
    payload_kg: float                 # load cell: rope tension / g minus the spreader's tare
    locked: tuple = (False, False, False, False)   # twistlock switches: +x+y, +x-y, -x+y, -x-y
    landed: bool = False              # all four landing pins pressed (on a box's roof, or by a locked box)
    stamps: dict = field(default_factory=dict)     # group -> t_s of its newest sample
    frames: dict | None = None        # camera name -> CameraFrame, when a capture was requested


@dataclass(frozen=True)
class VehicleReport:
    """What a vehicle at the bay says about itself (from its localization and route follower), with its
    deck pose converted to the crane frame."""

    vehicle_id: str
    t_s: float
    x_m: float
    y_m: float
    yaw_rad: float
    speed_mps: float
    held: bool                        # the route follower confirms it holds for the crane
