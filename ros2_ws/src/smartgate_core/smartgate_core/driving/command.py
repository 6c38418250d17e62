"""What the route tracker asks of a vehicle's drive-by-wire (the simulator and the nodes share it)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DriveCommand:
    speed_mps: float = 0.0
    steer_rad: float = 0.0
    max_decel_mps2: float = 0.0      # 0: the vehicle's service limit
    emergency_stop: bool = False
