"""WGS 84 <-> the metric map frame, through pyproj.

The map frame (REP 105 `map`) is a local East-North-Up tangent plane at a datum point fixed per map,
so x is east and y is north in metres (REP 103). A topocentric plane keeps distances true to the
millimetre over a few kilometres, which UTM's scale factor (~0.9996 here) would not.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
from pyproj import Transformer
from pyproj.transformer import TransformerGroup

VN2000_TM3_LANG_SON = 'EPSG:9215'      # VN-2000 / TM-3 107-15: Lạng Sơn's central meridian
VN2000_HELMERT = 'VN-2000 to WGS 84 (2)'   # of the two published Helmert variants (0.7 m apart): this one


@dataclass(frozen=True)
class MapDatum:
    """Origin of the map frame on the WGS 84 ellipsoid."""

    latitude_deg: float
    longitude_deg: float
    height_m: float = 0.0

    def __post_init__(self):
        if not (np.isfinite(self.latitude_deg) and -90.0 <= self.latitude_deg <= 90.0):
            raise ValueError(f'datum latitude_deg must be within [-90, 90], got {self.latitude_deg}')
        if not (np.isfinite(self.longitude_deg) and -180.0 <= self.longitude_deg <= 180.0):
            raise ValueError(f'datum longitude_deg must be within [-180, 180], got {self.longitude_deg}')
        if not np.isfinite(self.height_m):
            raise ValueError(f'datum height_m must be finite, got {self.height_m}')

    @cached_property
    def _to_enu(self) -> Transformer:
        # geographic (lon, lat, h) -> geocentric -> topocentric ENU at the datum
        return Transformer.from_pipeline(
            '+proj=pipeline +step +proj=axisswap +order=2,1 +step +proj=unitconvert +xy_in=deg +xy_out=rad '
            '+step +proj=cart +ellps=WGS84 '
            f'+step +proj=topocentric +ellps=WGS84 +lat_0={self.latitude_deg} '
            f'+lon_0={self.longitude_deg} +h_0={self.height_m}')

    def to_map(self, latitude_deg, longitude_deg, height_m=None):
        """(lat, lon[, h]) in degrees/metres -> (x east, y north, z up) in the map frame [m]."""
        lat = np.asarray(latitude_deg, dtype=float)
        h = np.full_like(lat, self.height_m) if height_m is None else np.asarray(height_m, dtype=float)
        return self._to_enu.transform(lat, np.asarray(longitude_deg, dtype=float), h)

    def to_geographic(self, x_m, y_m, z_m=None):
        """(x, y[, z]) in the map frame [m] -> (lat, lon, h) in degrees/metres."""
        x = np.asarray(x_m, dtype=float)
        z = np.zeros_like(x) if z_m is None else np.asarray(z_m, dtype=float)
        return self._to_enu.transform(x, np.asarray(y_m, dtype=float), z, direction='INVERSE')


@lru_cache(maxsize=1)
def _vn2000_transformer() -> Transformer:
    """WGS 84 -> VN-2000 / TM-3 107-15 through the chosen Helmert variant, never a silent default."""
    for t in TransformerGroup('EPSG:4326', VN2000_TM3_LANG_SON, always_xy=True).transformers:
        if VN2000_HELMERT in t.description:
            return t
    raise RuntimeError(f'pyproj has no {VN2000_HELMERT} transformation to {VN2000_TM3_LANG_SON}')


def to_vn2000_tm3(latitude_deg, longitude_deg):
    """WGS 84 (lat, lon) -> VN-2000 / TM-3 107-15 (easting, northing) [m], for Vietnamese survey data."""
    return _vn2000_transformer().transform(np.asarray(longitude_deg, dtype=float),
                                           np.asarray(latitude_deg, dtype=float))
