"""The simulated driverless container vehicle: a dynamic single-track (bicycle) model with tyres,
axle loads, actuators and disturbances. This is the plant, the simulator's ground truth; the route
tracker never reads it (it has its own nominal ControllerParams).

Lateral dynamics (body frame at the centre of gravity, small-angle single track, Pacejka-style
saturating tyres; e.g. Rajamani, Vehicle Dynamics and Control, ch. 2):
    m (dvy/dt + vx r) = Fyf cos(delta) + Fyr + Fy_disturbance
    Iz dr/dt          = a Fyf cos(delta) - b Fyr + Mz_disturbance
    alpha_f = delta - atan((vy + a r) / vx),  alpha_r = -atan((vy - b r) / vx)
    Fy = mu Fz tanh(C alpha / (mu Fz)),  C = c Fref (Fz / Fref)^n   (n < 1: a more loaded axle has
                                                                     relatively less stiffness)
a and b are the CG's distances to the front and rear axle; they, the axle loads Fz, the mass and
Iz follow the payload and where its centre of gravity sits. Below `kinematic_below_mps` the tyres
cannot slip in any meaningful way and the dynamic model is blended into the kinematic one
(vy = b r, r = vx tan(delta) / L), so the model stays well-posed down to a standstill.

Actuators: every command passes a transport delay; steering follows its target with a first-order
lag under a rate limit; the vehicle's own speed loop asks for (v_target - v) / speed_time_constant_s
(plus the rolling resistance it knows), limited by what the drive and the brakes can do for the true
mass (F = m a, and tyre adhesion), and the drive force or brake pressure builds up with its own lag
(the two lags make a well-damped second-order speed response). A governor cuts traction at the top
speed. Rolling resistance always acts.
Emergency braking is full brake force (ABS: at most the tyre adhesion).

base_link, the point the state reports, is the centre of the rear axle (REP 103 axes).
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from ..driving.command import DriveCommand
from ..params import doc

G_MPS2 = 9.80665


@dataclass(frozen=True)
class VehicleParams:
    """The simulated IGV. Sources: a 15 m, 25 t battery IGV for 40 ft boxes (Westwell Q-Truck, ZPMC IGV
    brochures: 60-80 t payload, 30 km/h laden); truck tyre data (cornering coefficient 0.1-0.16 per
    degree of slip per unit load, Wong, Theory of Ground Vehicles, 4th ed., 1.4); air-brake
    application time (FMVSS 121: service pressure within 0.45 s); braking capacity of category N3
    (UN ECE R13: mean fully developed deceleration >= 5.0 m/s^2 laden)."""

    wheelbase_m: float = doc(9.0, 'rear to front axle [m]')
    length_m: float = doc(15.0, 'overall length [m]')
    width_m: float = doc(3.0, 'overall width [m]')
    rear_overhang_m: float = doc(3.0, 'rear bumper behind base_link [m]')
    empty_mass_kg: float = doc(25000.0, 'unladen mass [kg]')
    empty_cg_x_m: float = doc(4.2, 'unladen centre of gravity ahead of the rear axle [m]')
    empty_gyration_m: float = doc(4.3, 'unladen yaw radius of gyration about its CG [m]')
    deck_centre_x_m: float = doc(4.5, 'middle of the container deck ahead of the rear axle [m]')
    payload_gyration_m: float = doc(3.5, 'yaw radius of gyration of a container about its CG (40 ft: L/sqrt 12) [m]')
    cornering_coefficient: float = doc(7.0, 'axle cornering stiffness per unit axle load at the reference load [1/rad]')
    reference_axle_load_n: float = doc(150000.0, 'axle load of cornering_coefficient [N]')
    cornering_load_exponent: float = doc(0.8, 'cornering stiffness grows as axle load^n (tyre load sensitivity)')
    tyre_friction: float = doc(0.7, 'peak tyre-road adhesion, dry asphalt')
    rolling_resistance: float = doc(0.008, 'rolling resistance coefficient (truck tyres)')
    kinematic_below_mps: tuple = doc((0.5, 1.5), 'blend from kinematic (below) to dynamic (above) [m/s]')
    max_steer_rad: float = doc(0.524, 'front-wheel lock, 30 deg [rad]')
    max_steer_rate_radps: float = doc(0.25, 'steering actuator slew limit [rad/s]')
    steer_time_constant_s: float = doc(0.25, 'steering first-order lag [s]')
    actuator_delay_s: float = doc(0.10, 'command transport delay (bus, drive-by-wire) [s]')
    speed_time_constant_s: float = doc(0.8, "the vehicle's speed loop asks (v_target - v) / this [s]")
    drive_time_constant_s: float = doc(0.2, 'traction force build-up lag [s]')
    brake_time_constant_s: float = doc(0.25, 'brake pressure build-up lag [s]')
    max_drive_force_n: float = doc(37500.0, 'traction limit: 1.5 m/s^2 empty, 0.44 laden 60 t [N]')
    max_service_decel_mps2: float = doc(2.5, 'service-brake limit the speed loop uses (comfort, load securing) [m/s^2]')
    max_brake_force_n: float = doc(450000.0, 'full brake force (emergency) [N]')
    max_speed_mps: float = doc(10.0, 'governor, 36 km/h [m/s]')

    def mass_kg(self, payload_kg: float) -> float:
        return self.empty_mass_kg + payload_kg

    def accel_limit(self, payload_kg: float) -> float:
        """Largest forward acceleration with this payload [m/s^2]."""
        return self.max_drive_force_n / self.mass_kg(payload_kg)

    def decel_limit(self, payload_kg: float) -> float:
        """Largest service-brake deceleration with this payload [m/s^2]."""
        return min(self.max_service_decel_mps2, self.emergency_decel(payload_kg))

    def emergency_decel(self, payload_kg: float) -> float:
        """Full braking with this payload: brake force or tyre adhesion, whichever runs out first [m/s^2]."""
        return min(self.max_brake_force_n / self.mass_kg(payload_kg), self.tyre_friction * G_MPS2)


@dataclass
class VehicleState:
    x_m: float = 0.0
    y_m: float = 0.0
    yaw_rad: float = 0.0
    speed_mps: float = 0.0          # longitudinal speed (what the wheels measure) [m/s]
    steer_rad: float = 0.0
    accel_mps2: float = 0.0
    yaw_rate_radps: float = 0.0
    lateral_speed_mps: float = 0.0  # of base_link, left positive (side slip) [m/s]


@dataclass(frozen=True)
class Disturbance:
    """External forces on the vehicle at one instant, body frame."""

    lateral_force_n: float = 0.0     # left positive [N]
    yaw_moment_nm: float = 0.0       # about the CG, anticlockwise positive [N m]


class VehicleModel:
    """Integrates the vehicle forward in fixed steps; commands pass through the actuator delay."""

    def __init__(self, params: VehicleParams, state: VehicleState, payload_kg: float = 0.0, dt_s: float = 0.01,
                 payload_cg_offset_m: float = 0.0):
        self.params, self.state, self.dt_s = params, state, dt_s
        self._pending = deque([DriveCommand()] * max(1, round(params.actuator_delay_s / dt_s)))
        self._vy_cg = 0.0               # lateral speed of the CG [m/s]
        self._force_accel = 0.0         # drive or brake acceleration as built up so far [m/s^2]
        self.payload_cg_offset_m = payload_cg_offset_m
        self.payload_kg = payload_kg

    @property
    def payload_kg(self) -> float:
        return self._payload_kg

    @payload_kg.setter
    def payload_kg(self, value: float):
        """Set the payload (a crane loads or unloads): mass, CG, inertia and axle loads follow."""
        p = self.params
        self._payload_kg = float(value)
        m = p.mass_kg(value)
        payload_x = p.deck_centre_x_m + self.payload_cg_offset_m
        self.cg_x_m = (p.empty_mass_kg * p.empty_cg_x_m + value * payload_x) / m
        self.mass_kg = m
        self.yaw_inertia_kgm2 = (p.empty_mass_kg * (p.empty_gyration_m ** 2 + (p.empty_cg_x_m - self.cg_x_m) ** 2)
                                 + value * (p.payload_gyration_m ** 2 + (payload_x - self.cg_x_m) ** 2))
        self.axle_load_n = (m * G_MPS2 * self.cg_x_m / p.wheelbase_m,                       # front
                            m * G_MPS2 * (p.wheelbase_m - self.cg_x_m) / p.wheelbase_m)     # rear
        fref = p.reference_axle_load_n
        self.cornering_stiffness = tuple(p.cornering_coefficient * fref * (fz / fref) ** p.cornering_load_exponent
                                         for fz in self.axle_load_n)

    def _tyre(self, alpha, axle):
        limit = self.params.tyre_friction * self.axle_load_n[axle]
        return limit * math.tanh(self.cornering_stiffness[axle] * alpha / limit)

    def step(self, command: DriveCommand, disturbance: Disturbance = Disturbance()) -> VehicleState:
        """Advance one dt_s with `command` entering the delay line; return the new state."""
        p, s, dt = self.params, self.state, self.dt_s
        self._pending.append(command)
        cmd = self._pending.popleft()
        # steering: first-order lag toward the clipped target, slew-rate limited
        target = max(-p.max_steer_rad, min(p.max_steer_rad, cmd.steer_rad))
        rate = (target - s.steer_rad) / p.steer_time_constant_s
        rate = max(-p.max_steer_rate_radps, min(p.max_steer_rate_radps, rate))
        s.steer_rad += rate * dt
        # longitudinal: demanded acceleration, built up through the drive or brake lag
        if cmd.emergency_stop:
            demand = -p.emergency_decel(self._payload_kg)
        else:
            decel = p.decel_limit(self._payload_kg)
            if cmd.max_decel_mps2 > 0.0:
                decel = min(decel, cmd.max_decel_mps2)
            target_v = max(0.0, min(p.max_speed_mps, cmd.speed_mps))
            demand = (target_v - s.speed_mps) / p.speed_time_constant_s
            if target_v > 0.0:                      # the speed loop carries the rolling resistance
                demand += p.rolling_resistance * G_MPS2
            demand = max(-decel, min(p.accel_limit(self._payload_kg), demand))
        lag = p.drive_time_constant_s if demand > 0.0 else p.brake_time_constant_s
        self._force_accel += (demand - self._force_accel) * min(1.0, dt / lag)
        v0 = s.speed_mps
        if v0 >= p.max_speed_mps:                   # the governor cuts traction
            self._force_accel = min(self._force_accel, 0.0)
        accel = self._force_accel - (p.rolling_resistance * G_MPS2 if v0 > 0.0 else 0.0)
        v1 = max(0.0, v0 + accel * dt)              # brakes and resistance hold, they do not reverse
        s.accel_mps2 = (v1 - v0) / dt
        self._lateral(0.5 * (v0 + v1), s.steer_rad, disturbance)
        # pose of base_link: its velocity in the body frame is (vx, vy_cg - cg_x r)
        vx, r = 0.5 * (v0 + v1), s.yaw_rate_radps
        vy = self._vy_cg - self.cg_x_m * r
        yaw_mid = s.yaw_rad + 0.5 * r * dt
        c, si = math.cos(yaw_mid), math.sin(yaw_mid)
        s.x_m += (vx * c - vy * si) * dt
        s.y_m += (vx * si + vy * c) * dt
        s.yaw_rad = math.remainder(s.yaw_rad + r * dt, 2.0 * math.pi)
        s.speed_mps = v1
        s.lateral_speed_mps = vy
        return s

    def _lateral(self, vx, delta, disturbance):
        """Advance the side-slip and yaw-rate states over one step at longitudinal speed vx."""
        p, s, dt = self.params, self.state, self.dt_s
        b = self.cg_x_m                      # CG to rear axle
        a = p.wheelbase_m - b                # CG to front axle
        r_kin = vx * math.tan(delta) / p.wheelbase_m
        lo, hi = p.kinematic_below_mps
        w = min(max((vx - lo) / (hi - lo), 0.0), 1.0)
        if w <= 0.0:
            s.yaw_rate_radps, self._vy_cg = r_kin, b * r_kin
            return
        r, vy = s.yaw_rate_radps, self._vy_cg
        alpha_f = delta - math.atan2(vy + a * r, vx)
        alpha_r = -math.atan2(vy - b * r, vx)
        fyf, fyr = self._tyre(alpha_f, 0), self._tyre(alpha_r, 1)
        m, iz = self.mass_kg, self.yaw_inertia_kgm2
        vy += ((fyf * math.cos(delta) + fyr + disturbance.lateral_force_n) / m - vx * r) * dt
        r += ((a * fyf * math.cos(delta) - b * fyr + disturbance.yaw_moment_nm) / iz) * dt
        s.yaw_rate_radps = w * r + (1.0 - w) * r_kin
        self._vy_cg = w * vy + (1.0 - w) * b * r_kin
