"""What the world does to a driving vehicle that its controller does not know: the road's crossfall,
crosswind with gusts, and a payload whose declared mass and centre of gravity are wrong.

Each simulated vehicle draws its own from a seeded stream: the wind direction and mean speed, the
error of the declared payload mass and where the load's centre of gravity sits, once per run; gusts
(1 - cos shaped, as in gust-load standards) as a Poisson process during the run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..params import doc
from .vehicle_model import G_MPS2, Disturbance

AIR_DENSITY_KGPM3 = 1.2


@dataclass(frozen=True)
class DisturbanceParams:
    crossfall: float = doc(0.02, 'road cross slope falling to the right of travel (kerb side; TCVN 4054: 1.5-2 % on asphalt)')
    mean_wind_mps: tuple = doc((0.0, 6.0), 'range of the mean wind speed of a run [m/s]')
    gust_mps: tuple = doc((4.0, 10.0), 'range of the peak of a gust over the mean [m/s]')
    gust_duration_s: tuple = doc((2.0, 6.0), 'range of a gust duration [s]')
    gust_rate_hz: float = doc(0.05, 'rate of gusts [Hz]')
    side_force_coefficient: float = doc(1.0, 'side force coefficient of the vehicle body (box-like)')
    side_area_m2: float = doc(22.5, 'side area of the empty vehicle, 15 m x 1.5 m [m^2]')
    container_side_area_m2: float = doc(31.7, 'side area a 40 ft box adds, 12.19 m x 2.6 m [m^2]')
    centre_of_pressure_x_m: float = doc(5.5, 'centre of the side area ahead of the rear axle [m]')
    payload_mass_error: float = doc(0.2, 'true payload = declared x (1 + U(-e, e)): a mass declared wrong')
    payload_cg_offset_m: float = doc(0.6, 'the load centre of gravity lies U(-d, d) along the deck from its middle [m]')


class DisturbanceModel:
    """One vehicle's disturbances; call force() every physics step."""

    def __init__(self, params: DisturbanceParams, rng: np.random.Generator):
        self.params, self.rng = params, rng
        self.wind_direction_rad = float(rng.uniform(-math.pi, math.pi))      # where the wind blows to
        self.mean_wind_mps = float(rng.uniform(*params.mean_wind_mps))
        self.payload_factor = 1.0 + float(rng.uniform(-params.payload_mass_error, params.payload_mass_error))
        self.payload_cg_offset_m = float(rng.uniform(-params.payload_cg_offset_m, params.payload_cg_offset_m))
        self._gust = (0.0, 0.0, 0.0)        # (start [s], duration [s], peak [m/s])

    def wind_mps(self, t_s: float, dt_s: float) -> float:
        """Wind speed now: the mean plus the gust in progress, if any."""
        p = self.params
        start, duration, peak = self._gust
        if t_s >= start + duration and self.rng.random() < p.gust_rate_hz * dt_s:
            start, duration, peak = t_s, float(self.rng.uniform(*p.gust_duration_s)), float(self.rng.uniform(*p.gust_mps))
            self._gust = (start, duration, peak)
        gust = 0.5 * peak * (1.0 - math.cos(2.0 * math.pi * (t_s - start) / duration)) if t_s < start + duration else 0.0
        return self.mean_wind_mps + gust

    def force(self, t_s, dt_s, yaw_rad, mass_kg, laden, cg_x_m) -> Disturbance:
        """Side force and yaw moment on the vehicle (body frame) at time t_s."""
        p = self.params
        wind = self.wind_mps(t_s, dt_s)
        crosswind = wind * math.sin(self.wind_direction_rad - yaw_rad)     # component blowing to the left
        area = p.side_area_m2 + (p.container_side_area_m2 if laden else 0.0)
        wind_force = 0.5 * AIR_DENSITY_KGPM3 * p.side_force_coefficient * area * crosswind * abs(crosswind)
        gravity = -mass_kg * G_MPS2 * p.crossfall                         # downhill is to the right
        return Disturbance(wind_force + gravity, wind_force * (p.centre_of_pressure_x_m - cg_x_m))
