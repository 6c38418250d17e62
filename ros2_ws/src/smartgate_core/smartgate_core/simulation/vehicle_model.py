"""Kinematic bicycle model of a car-like driverless container vehicle, with actuator dynamics.

base_link is the centre of the rear axle (the point the model integrates), REP 103 axes.
Actuators: commands take effect after a transport delay; steering follows its target with a
first-order lag under a rate limit; speed follows its target with a first-order lag under
acceleration/braking limits that shrink with the laden mass (F = m a).
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from ..driving.command import DriveCommand
from ..params import doc


@dataclass(frozen=True)
class VehicleParams:
    wheelbase_m: float = doc(9.0, 'rear to front axle [m]')
    length_m: float = doc(15.0, 'overall length [m]')
    width_m: float = doc(3.0, 'overall width [m]')
    rear_overhang_m: float = doc(3.0, 'rear bumper behind base_link [m]')
    max_steer_rad: float = doc(0.524, 'front-wheel lock, 30 deg [rad]')
    max_steer_rate_radps: float = doc(0.35, 'steering actuator slew limit [rad/s]')
    steer_time_constant_s: float = doc(0.15, 'steering first-order lag [s]')
    speed_time_constant_s: float = doc(0.30, 'drive/brake first-order lag [s]')
    actuator_delay_s: float = doc(0.05, 'command transport delay [s]')
    empty_mass_kg: float = doc(25000.0, 'unladen mass [kg]')
    max_drive_force_n: float = doc(37500.0, 'traction limit: 1.5 m/s^2 empty, 0.44 laden 60 t [N]')
    max_service_decel_mps2: float = doc(2.5, 'service-brake limit (adhesion, comfort) [m/s^2]')
    max_brake_force_n: float = doc(255000.0, 'service brakes: 2.5 m/s^2 up to 102 t [N]')
    emergency_decel_mps2: float = doc(4.0, 'emergency braking [m/s^2]')
    max_speed_mps: float = doc(10.0, 'governor, 36 km/h [m/s]')

    def accel_limit(self, payload_kg: float) -> float:
        """Largest forward acceleration with this payload [m/s^2]."""
        return self.max_drive_force_n / (self.empty_mass_kg + payload_kg)

    def decel_limit(self, payload_kg: float) -> float:
        """Largest service-brake deceleration with this payload [m/s^2]."""
        return min(self.max_service_decel_mps2, self.max_brake_force_n / (self.empty_mass_kg + payload_kg))


@dataclass
class VehicleState:
    x_m: float = 0.0
    y_m: float = 0.0
    yaw_rad: float = 0.0
    speed_mps: float = 0.0
    steer_rad: float = 0.0
    accel_mps2: float = 0.0
    yaw_rate_radps: float = 0.0


class VehicleModel:
    """Integrates the vehicle forward in fixed steps; commands pass through the actuator delay."""

    def __init__(self, params: VehicleParams, state: VehicleState, payload_kg: float = 0.0, dt_s: float = 0.01):
        self.params, self.state, self.dt_s = params, state, dt_s
        self.payload_kg = payload_kg
        self._pending = deque([DriveCommand()] * max(1, round(params.actuator_delay_s / dt_s)))

    def step(self, command: DriveCommand) -> VehicleState:
        """Advance one dt_s with `command` entering the delay line; return the new state."""
        p, s, dt = self.params, self.state, self.dt_s
        self._pending.append(command)
        cmd = self._pending.popleft()
        # steering: first-order lag toward the clipped target, slew-rate limited
        target = max(-p.max_steer_rad, min(p.max_steer_rad, cmd.steer_rad))
        rate = (target - s.steer_rad) / p.steer_time_constant_s
        rate = max(-p.max_steer_rate_radps, min(p.max_steer_rate_radps, rate))
        s.steer_rad += rate * dt
        # speed: first-order lag toward the target under traction/brake limits
        if cmd.emergency_stop:
            accel = -p.emergency_decel_mps2
        else:
            decel = p.decel_limit(self.payload_kg)
            if cmd.max_decel_mps2 > 0.0:
                decel = min(decel, cmd.max_decel_mps2)
            target_v = max(0.0, min(p.max_speed_mps, cmd.speed_mps))
            accel = (target_v - s.speed_mps) / p.speed_time_constant_s
            accel = max(-decel, min(p.accel_limit(self.payload_kg), accel))
        v0 = s.speed_mps
        v1 = max(0.0, v0 + accel * dt)              # brakes hold, they do not reverse
        s.accel_mps2 = (v1 - v0) / dt
        v_mid = 0.5 * (v0 + v1)
        s.yaw_rate_radps = v_mid * math.tan(s.steer_rad) / p.wheelbase_m
        yaw_mid = s.yaw_rad + 0.5 * s.yaw_rate_radps * dt
        s.x_m += v_mid * math.cos(yaw_mid) * dt
        s.y_m += v_mid * math.sin(yaw_mid) * dt
        s.yaw_rad = math.remainder(s.yaw_rad + s.yaw_rate_radps * dt, 2.0 * math.pi)
        s.speed_mps = v1
        return s
