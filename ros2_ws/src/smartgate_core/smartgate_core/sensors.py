"""Seeded sensor models of the simulated vehicle: dual-antenna GNSS, wheel odometry, IMU.

Each model draws from its own numpy Generator so a seed reproduces a run exactly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .vehicle_model import VehicleState
from .params import doc

FIX_NONE, FIX_SINGLE, FIX_RTK_FLOAT, FIX_RTK_FIXED = 'none', 'single', 'rtk_float', 'rtk_fixed'


@dataclass(frozen=True)
class GnssParams:
    lever_arm_m: tuple = doc((9.5, 0.0), 'antenna in base_link (x forward, y left) [m]')
    white_sigma_m: float = doc(0.006, 'per-axis white noise, RTK fixed [m]')
    walk_sigma_m: float = doc(0.008, 'per-axis correlated (Gauss-Markov) error, RTK fixed [m]')
    walk_time_constant_s: float = doc(20.0, 'correlation time of that error [s]')
    reported_sigma_m: float = doc(0.012, 'per-axis 1-sigma the receiver reports [m]')
    heading_sigma_rad: float = doc(0.002, 'dual-antenna heading noise, RTK fixed (2 m baseline) [rad]')


@dataclass
class GnssFix:
    x_m: float                 # antenna position in the map frame [m]
    y_m: float
    fix_type: str
    sigma_m: float             # reported per-axis 1-sigma [m]
    heading_rad: float         # dual-antenna heading of the vehicle (REP 103 yaw) [rad]
    heading_sigma_rad: float


class GnssModel:
    """RTK-fixed primary-antenna positions (white plus slowly wandering error) and dual-antenna heading."""

    def __init__(self, params: GnssParams, rng: np.random.Generator):
        self.params, self.rng = params, rng
        self._walk = rng.normal(0.0, params.walk_sigma_m, 2)

    def measure(self, truth: VehicleState, dt_s: float) -> GnssFix:
        p = self.params
        phi = math.exp(-dt_s / p.walk_time_constant_s)
        self._walk = phi * self._walk + self.rng.normal(0.0, p.walk_sigma_m * math.sqrt(1 - phi * phi), 2)
        c, s = math.cos(truth.yaw_rad), math.sin(truth.yaw_rad)
        ax = truth.x_m + c * p.lever_arm_m[0] - s * p.lever_arm_m[1]
        ay = truth.y_m + s * p.lever_arm_m[0] + c * p.lever_arm_m[1]
        e = self._walk + self.rng.normal(0.0, p.white_sigma_m, 2)
        heading = math.remainder(truth.yaw_rad + float(self.rng.normal(0.0, p.heading_sigma_rad)), 2 * math.pi)
        return GnssFix(ax + e[0], ay + e[1], FIX_RTK_FIXED, p.reported_sigma_m, heading, p.heading_sigma_rad)


@dataclass(frozen=True)
class OdometryParams:
    scale_error: float = doc(0.002, 'wheel-radius error, fraction of speed')
    speed_sigma_mps: float = doc(0.01, 'wheel-speed white noise [m/s]')


class OdometryModel:
    """Wheel-speed odometry: speed with a scale error and noise (zero when standing)."""

    def __init__(self, params: OdometryParams, rng: np.random.Generator):
        self.params, self.rng = params, rng

    def measure(self, truth: VehicleState) -> float:
        if truth.speed_mps <= 1e-4:
            return 0.0
        p = self.params
        return truth.speed_mps * (1.0 + p.scale_error) + float(self.rng.normal(0.0, p.speed_sigma_mps))


@dataclass(frozen=True)
class ImuParams:
    gyro_bias_sigma_radps: float = doc(0.0005, 'turn-on bias spread [rad/s]')
    gyro_noise_sigma_radps: float = doc(0.001, 'white noise per sample [rad/s]')
    yaw_sigma_rad: float = doc(0.02, 'AHRS absolute yaw noise [rad]')
    yaw_bias_sigma_rad: float = doc(0.02, 'AHRS yaw offset (magnetic disturbance) spread [rad]')


@dataclass
class ImuSample:
    yaw_rate_radps: float
    yaw_rad: float             # AHRS yaw, coarse: used to initialise heading only
    accel_x_mps2: float


class ImuModel:
    """Gyro yaw rate with a constant bias, coarse AHRS yaw, longitudinal acceleration."""

    def __init__(self, params: ImuParams, rng: np.random.Generator):
        self.params, self.rng = params, rng
        self.gyro_bias = float(rng.normal(0.0, params.gyro_bias_sigma_radps))
        self.yaw_bias = float(rng.normal(0.0, params.yaw_bias_sigma_rad))

    def measure(self, truth: VehicleState) -> ImuSample:
        p = self.params
        return ImuSample(
            truth.yaw_rate_radps + self.gyro_bias + float(self.rng.normal(0.0, p.gyro_noise_sigma_radps)),
            math.remainder(truth.yaw_rad + self.yaw_bias + float(self.rng.normal(0.0, p.yaw_sigma_rad)), 2 * math.pi),
            truth.accel_mps2 + float(self.rng.normal(0.0, 0.02)))


@dataclass(frozen=True)
class RangeParams:
    mount_x_m: float = doc(12.0, 'front bumper ahead of base_link, where the sensor looks from [m]')
    max_range_m: float = doc(80.0, 'farthest detection [m]')
    corridor_half_width_m: float = doc(2.0, 'half width of the swept corridor watched ahead [m]')
    noise_sigma_m: float = doc(0.05, 'range noise [m]')


class RangeSensorModel:
    """Forward range sensor (radar/lidar summary): distance to the nearest obstacle in the corridor
    straight ahead of the front bumper; obstacles are discs (x, y, radius) in the map frame."""

    def __init__(self, params: RangeParams, rng: np.random.Generator):
        self.params, self.rng = params, rng

    def measure(self, truth: VehicleState, obstacles) -> float:
        p = self.params
        c, s = math.cos(truth.yaw_rad), math.sin(truth.yaw_rad)
        nearest = math.inf
        for ox, oy, radius in obstacles:
            dx, dy = ox - truth.x_m, oy - truth.y_m
            ahead, lateral = c * dx + s * dy - p.mount_x_m, -s * dx + c * dy
            if abs(lateral) <= p.corridor_half_width_m + radius and ahead + radius > 0.0:
                nearest = min(nearest, max(ahead - radius, 0.0))
        if nearest > p.max_range_m:
            return math.inf
        return max(0.0, nearest + float(self.rng.normal(0.0, p.noise_sigma_m)))
