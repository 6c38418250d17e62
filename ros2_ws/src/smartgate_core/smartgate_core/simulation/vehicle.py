"""The vehicle simulator's world step: vehicle model plus seeded sensors on a fixed time base.

The ROS simulator node and the in-process closed loop (tests, benchmarks) both drive this class,
so what is benchmarked is what the nodes run.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .sensors import (FiveGModel, FiveGParams, GnssEnvironment, GnssModel, GnssParams, ImuModel, ImuParams,
                      OdometryModel, OdometryParams, RangeParams, RangeSensorModel)
from ..driving.command import DriveCommand
from .disturbances import DisturbanceModel, DisturbanceParams
from .vehicle_model import VehicleModel, VehicleParams, VehicleState
from ..params import doc


@dataclass(frozen=True)
class SimRates:
    physics_hz: float = doc(100.0, 'vehicle model integration rate [Hz]')
    clock_hz: float = doc(50.0, '/clock publication rate [Hz, sim]: every node wakes for each tick')
    gnss_hz: float = doc(10.0, 'GNSS fix rate [Hz]')
    odometry_hz: float = doc(50.0, 'wheel odometry rate [Hz]')
    imu_hz: float = doc(50.0, 'IMU rate [Hz]')
    ground_truth_hz: float = doc(50.0, 'ground-truth pose rate [Hz]')
    range_hz: float = doc(20.0, 'forward range sensor rate [Hz]')
    fiveg_range_hz: float = doc(10.0, '5G time-of-arrival range rate [Hz]')
    fiveg_fix_hz: float = doc(1.0, '5G network location fix rate [Hz]')


@dataclass
class SimOutputs:
    """What became due in one step; None where a sensor had no sample this step."""

    t_s: float
    truth: VehicleState
    gnss: object = None
    odometry_speed_mps: object = None
    imu: object = None
    range_m: object = None            # forward range to the nearest obstacle (inf: none seen) [m]
    fiveg_ranges: object = None
    fiveg_fix: object = None
    ground_truth_due: bool = False
    clock_due: bool = False


@dataclass
class VehicleSimulator:
    vehicle: VehicleParams
    start: VehicleState
    seed: int
    payload_kg: float = 0.0                           # declared; the true mass differs (disturbances)
    rates: SimRates = field(default_factory=SimRates)
    gnss_params: GnssParams = field(default_factory=GnssParams)
    odometry_params: OdometryParams = field(default_factory=OdometryParams)
    imu_params: ImuParams = field(default_factory=ImuParams)
    range_params: RangeParams = field(default_factory=RangeParams)
    fiveg_params: FiveGParams = field(default_factory=FiveGParams)
    gnb_sites: dict = field(default_factory=dict)     # gNB id -> (x, y) in the map frame [m]
    gnss_environment: GnssEnvironment = field(default_factory=GnssEnvironment)
    obstacles: list = field(default_factory=list)     # discs (x, y, radius) in the map frame [m]
    disturbance_params: DisturbanceParams = field(default_factory=DisturbanceParams)

    def __post_init__(self):
        # one independent stream per sensor and one for the disturbances, all from the one seed
        streams = [np.random.default_rng(s) for s in np.random.SeedSequence(self.seed).spawn(6)]
        self.dt_s = 1.0 / self.rates.physics_hz
        self.disturbances = DisturbanceModel(self.disturbance_params, streams[5])
        self.model = VehicleModel(self.vehicle, self.start, self.payload_kg * self.disturbances.payload_factor,
                                  self.dt_s, self.disturbances.payload_cg_offset_m)
        self.gnss = GnssModel(self.gnss_params, streams[0], self.gnss_environment)
        self.odometry = OdometryModel(self.odometry_params, streams[1])
        self.imu = ImuModel(self.imu_params, streams[2])
        self.range = RangeSensorModel(self.range_params, streams[3])
        self.fiveg = FiveGModel(self.fiveg_params, self.gnb_sites, streams[4])
        self.step_count = 0

    @property
    def t_s(self) -> float:
        return self.step_count * self.dt_s

    def _due(self, rate_hz) -> bool:
        every = max(1, round(self.rates.physics_hz / rate_hz))
        return self.step_count % every == 0

    def step(self, command: DriveCommand) -> SimOutputs:
        """Advance one physics step under `command`; return the sensor samples now due."""
        m = self.model
        truth = m.step(command, self.disturbances.force(self.t_s, self.dt_s, m.state.yaw_rad, m.mass_kg,
                                                        m.payload_kg > 0.0, m.cg_x_m))
        self.step_count += 1
        out = SimOutputs(self.t_s, truth)
        if self._due(self.rates.gnss_hz):
            out.gnss = self.gnss.measure(truth, 1.0 / self.rates.gnss_hz, out.t_s)
        if self._due(self.rates.odometry_hz):
            out.odometry_speed_mps = self.odometry.measure(truth, out.t_s, 1.0 / self.rates.odometry_hz)
        if self._due(self.rates.imu_hz):
            out.imu = self.imu.measure(truth)
        if self.gnb_sites and self._due(self.rates.fiveg_range_hz):
            out.fiveg_ranges = self.fiveg.ranges(truth, 1.0 / self.rates.fiveg_range_hz)
        if self.gnb_sites and self._due(self.rates.fiveg_fix_hz):
            out.fiveg_fix = self.fiveg.fix(truth, 1.0 / self.rates.fiveg_fix_hz)
        if self._due(self.rates.range_hz):
            out.range_m = self.range.measure(truth, self.obstacles)
        out.ground_truth_due = self._due(self.rates.ground_truth_hz)
        out.clock_due = self._due(self.rates.clock_hz)
        return out
