"""Seeded sensor models of the simulated vehicle: dual-antenna RTK GNSS with outages and multipath,
5G NR positioning, wheel odometry, IMU and a forward range sensor.

Each model draws from its own numpy Generator so a seed reproduces a run exactly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from shapely.geometry import Point

from ..localization.estimator import FIX_NONE, FIX_RTK_FIXED, FIX_RTK_FLOAT, FIX_SINGLE
from .vehicle_model import VehicleState
from ..params import doc



@dataclass(frozen=True)
class GnssParams:
    lever_arm_m: tuple = doc((9.5, 0.0), 'antenna in base_link (x forward, y left) [m]')
    white_sigma_m: float = doc(0.006, 'per-axis white noise, RTK fixed [m]')
    walk_sigma_m: float = doc(0.008, 'per-axis correlated (Gauss-Markov) error, RTK fixed [m]')
    walk_time_constant_s: float = doc(20.0, 'correlation time of that error [s]')
    reported_sigma_m: float = doc(0.012, 'per-axis 1-sigma the receiver reports, RTK fixed [m]')
    heading_sigma_rad: float = doc(0.002, 'dual-antenna heading noise, RTK fixed (2 m baseline) [rad]')
    float_sigma_m: float = doc(0.25, 'per-axis error (and reported 1-sigma) in RTK float [m]')
    single_sigma_m: float = doc(1.5, 'per-axis error (and reported 1-sigma) of a single-point fix [m]')
    reacquire_float_s: float = doc(4.0, 'RTK float after a GNSS outage before the fix is regained [s]')
    reacquire_single_s: float = doc(1.0, 'single-point only, first, after an outage [s]')
    multipath_rate_hz: float = doc(0.15, 'rate of multipath jumps inside multipath zones [Hz]')
    multipath_jump_m: tuple = doc((2.0, 10.0), 'size range of a multipath jump, reported unflagged [m]')
    multipath_duration_s: tuple = doc((0.5, 3.0), 'duration range of a multipath jump [s]')


@dataclass
class GnssFix:
    x_m: float                 # antenna position in the map frame [m] (nan without a fix)
    y_m: float
    fix_type: str
    sigma_m: float             # reported per-axis 1-sigma [m]
    heading_rad: float         # dual-antenna heading of the vehicle (REP 103 yaw) [rad]; nan unless RTK fixed
    heading_sigma_rad: float


@dataclass
class GnssEnvironment:
    """Where the sky is blocked or reflected: polygons of the map (shapely) and scripted time windows."""

    outage_zones: list = field(default_factory=list)
    multipath_zones: list = field(default_factory=list)
    outage_windows: list = field(default_factory=list)       # (t_start, t_end) [s]
    multipath_windows: list = field(default_factory=list)

    @staticmethod
    def _inside(zones, windows, x, y, t):
        return any(a <= t < b for a, b in windows) or any(z.contains(Point(x, y)) for z in zones)

    @classmethod
    def of_map(cls, lane_map):
        """The map's outage and multipath zones."""
        return cls([f.geometry for f in lane_map.of_kind('gnss_outage_zone')],
                   [f.geometry for f in lane_map.of_kind('multipath_zone')])

    def outage(self, x, y, t):
        return self._inside(self.outage_zones, self.outage_windows, x, y, t)

    def multipath(self, x, y, t):
        return self._inside(self.multipath_zones, self.multipath_windows, x, y, t)


class GnssModel:
    """Dual-antenna RTK receiver: fixed (white plus wandering error) in open sky, no fix in outage
    zones, single then float while it re-acquires, float with unflagged multipath jumps of metres
    in multipath zones. Only an RTK-fixed receiver reports the dual-antenna heading."""

    def __init__(self, params: GnssParams, rng: np.random.Generator, environment=None):
        self.params, self.rng = params, rng
        self.environment = environment or GnssEnvironment()
        self._walk = rng.normal(0.0, params.walk_sigma_m, 2)
        self._float_walk = rng.normal(0.0, params.float_sigma_m, 2)
        self._last_outage_s = -math.inf
        self._jump = (np.zeros(2), -math.inf)          # (offset, until t)
        self.jump_active = False                         # the last fix carried a multipath jump

    def _fix_type(self, ax, ay, t_s):
        env, p = self.environment, self.params
        if env.outage(ax, ay, t_s):
            self._last_outage_s = t_s
            return FIX_NONE
        since = t_s - self._last_outage_s
        if since < p.reacquire_single_s:
            return FIX_SINGLE
        if since < p.reacquire_single_s + p.reacquire_float_s or env.multipath(ax, ay, t_s):
            return FIX_RTK_FLOAT
        return FIX_RTK_FIXED

    def measure(self, truth: VehicleState, dt_s: float, t_s: float = 0.0) -> GnssFix:
        p = self.params
        phi = math.exp(-dt_s / p.walk_time_constant_s)
        self._walk = phi * self._walk + self.rng.normal(0.0, p.walk_sigma_m * math.sqrt(1 - phi * phi), 2)
        self._float_walk = phi * self._float_walk + self.rng.normal(0.0, p.float_sigma_m * math.sqrt(1 - phi * phi), 2)
        c, s = math.cos(truth.yaw_rad), math.sin(truth.yaw_rad)
        ax = truth.x_m + c * p.lever_arm_m[0] - s * p.lever_arm_m[1]
        ay = truth.y_m + s * p.lever_arm_m[0] + c * p.lever_arm_m[1]
        kind = self._fix_type(ax, ay, t_s)
        self.jump_active = False
        if kind == FIX_NONE:
            return GnssFix(math.nan, math.nan, kind, math.inf, math.nan, math.inf)
        if kind == FIX_RTK_FIXED:
            e, sigma = self._walk + self.rng.normal(0.0, p.white_sigma_m, 2), p.reported_sigma_m
        elif kind == FIX_RTK_FLOAT:
            e, sigma = self._float_walk.copy(), p.float_sigma_m
        else:
            e, sigma = self.rng.normal(0.0, p.single_sigma_m, 2), p.single_sigma_m
        if self.environment.multipath(ax, ay, t_s):
            offset, until = self._jump
            if t_s >= until and self.rng.random() < p.multipath_rate_hz * dt_s:
                size, angle = self.rng.uniform(*p.multipath_jump_m), self.rng.uniform(-math.pi, math.pi)
                offset = size * np.array([math.cos(angle), math.sin(angle)])
                until = t_s + self.rng.uniform(*p.multipath_duration_s)
                self._jump = (offset, until)
            if t_s < until:
                e = e + offset
                self.jump_active = True
        if kind != FIX_RTK_FIXED:
            return GnssFix(ax + e[0], ay + e[1], kind, sigma, math.nan, math.inf)
        heading = math.remainder(truth.yaw_rad + float(self.rng.normal(0.0, p.heading_sigma_rad)), 2 * math.pi)
        return GnssFix(ax + e[0], ay + e[1], kind, sigma, heading, p.heading_sigma_rad)


@dataclass(frozen=True)
class FiveGParams:
    lever_arm_m: tuple = doc((4.5, 0.0), '5G modem antenna in base_link [m]')
    antenna_height_m: float = doc(3.0, '5G modem antenna above the ground (the map datum height) [m]')
    range_sigma_m: float = doc(0.3, 'time-of-arrival range noise, line of sight [m]')
    nlos_probability: float = doc(0.15, 'share of time a gNB is out of line of sight')
    nlos_bias_m: tuple = doc((1.0, 8.0), 'range bias out of line of sight, always positive [m]')
    nlos_duration_s: float = doc(3.0, 'mean duration of a line-of-sight state [s]')
    max_range_m: float = doc(1500.0, 'gNB sites further than this are not heard [m]')
    fix_sigma_m: float = doc(0.8, 'per-axis 1-sigma of the network location fix (Rel-17) [m]')


@dataclass
class FiveGRanges:
    site_ids: list
    ranges_m: list
    sigma_m: float


@dataclass
class FiveGFix:
    x_m: float
    y_m: float
    sigma_m: float


class FiveGModel:
    """5G NR positioning: time-of-arrival ranges to gNB sites (noise, positive NLOS bias switching on
    and off per site) and a network location fix with white plus wandering error."""

    def __init__(self, params: FiveGParams, sites: dict, rng: np.random.Generator):
        self.params, self.sites, self.rng = params, dict(sites), rng
        self._nlos = {site: 0.0 for site in self.sites}          # site -> current bias [m] (0: LOS)
        self._fix_walk = rng.normal(0.0, params.fix_sigma_m, 2)

    def _antenna(self, truth):
        lx, ly = self.params.lever_arm_m
        c, s = math.cos(truth.yaw_rad), math.sin(truth.yaw_rad)
        return truth.x_m + c * lx - s * ly, truth.y_m + s * lx + c * ly

    def ranges(self, truth: VehicleState, dt_s: float) -> FiveGRanges:
        p = self.params
        ux, uy = self._antenna(truth)
        ids, ranges = [], []
        switch = dt_s / p.nlos_duration_s
        for site, (sx, sy, sz) in self.sites.items():
            if self.rng.random() < switch:           # re-draw this site's LOS/NLOS state
                nlos = self.rng.random() < p.nlos_probability
                self._nlos[site] = self.rng.uniform(*p.nlos_bias_m) if nlos else 0.0
            true_range = math.sqrt((ux - sx) ** 2 + (uy - sy) ** 2 + (p.antenna_height_m - sz) ** 2)
            if true_range > p.max_range_m:
                continue
            ids.append(site)
            ranges.append(true_range + self._nlos[site] + float(self.rng.normal(0.0, p.range_sigma_m)))
        return FiveGRanges(ids, ranges, p.range_sigma_m)

    def fix(self, truth: VehicleState, dt_s: float) -> FiveGFix:
        p = self.params
        phi = math.exp(-dt_s / 10.0)
        self._fix_walk = phi * self._fix_walk + self.rng.normal(0.0, p.fix_sigma_m * math.sqrt(1 - phi * phi), 2)
        ux, uy = self._antenna(truth)
        return FiveGFix(ux + self._fix_walk[0], uy + self._fix_walk[1], p.fix_sigma_m)


@dataclass(frozen=True)
class OdometryParams:
    scale_error: float = doc(0.002, 'wheel-radius error, fraction of speed')
    speed_sigma_mps: float = doc(0.01, 'wheel-speed white noise [m/s]')
    slip_rate_hz: float = doc(0.02, 'rate of wheel-slip episodes (wet plates, spin under load) [Hz]')
    slip_fraction: tuple = doc((0.01, 0.04), 'range of the extra apparent speed while slipping [fraction]')
    slip_duration_s: tuple = doc((0.3, 1.5), 'range of a slip episode duration [s]')


class OdometryModel:
    """Wheel-speed odometry: speed with a scale error, noise and occasional slip episodes (wheels
    turning faster than the vehicle moves); zero when standing."""

    def __init__(self, params: OdometryParams, rng: np.random.Generator):
        self.params, self.rng = params, rng
        self._slip = (0.0, -math.inf)            # (fraction, until t)

    def measure(self, truth: VehicleState, t_s: float = 0.0, dt_s: float = 0.02) -> float:
        if truth.speed_mps <= 1e-4:
            return 0.0
        p = self.params
        fraction, until = self._slip
        if t_s >= until:
            fraction = 0.0
            if self.rng.random() < p.slip_rate_hz * dt_s:
                fraction = float(self.rng.uniform(*p.slip_fraction))
                until = t_s + float(self.rng.uniform(*p.slip_duration_s))
            self._slip = (fraction, until)
        return truth.speed_mps * (1.0 + p.scale_error + fraction) + float(self.rng.normal(0.0, p.speed_sigma_mps))


@dataclass(frozen=True)
class ImuParams:
    gyro_bias_sigma_radps: float = doc(0.0005, 'turn-on bias spread [rad/s]')
    gyro_noise_sigma_radps: float = doc(0.0004, 'white noise per sample at 50 Hz (ARW ~0.2 deg/sqrt(h)) [rad/s]')
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
