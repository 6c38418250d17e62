"""geodesy: the map frame is a local ENU tangent plane at the map's datum (WGS 84, via pyproj)."""
import math

import numpy as np
import pytest
from pyproj import Geod, Proj, Transformer

from smartgate_core.geodesy import MapDatum

LAT0, LON0 = 21.96, 106.70          # near mốc 1119-1120, Hữu Nghị
WGS84 = Geod(ellps='WGS84')


def test_datum_maps_to_origin():
    """The datum itself is (0, 0, 0) in the map frame, whatever its height."""
    for h in (0.0, 250.0):
        x, y, z = MapDatum(LAT0, LON0, h).to_map(LAT0, LON0)
        assert (x, y, z) == pytest.approx((0.0, 0.0, 0.0), abs=1e-6)


def test_point_north_is_on_the_y_axis_at_the_geodesic_distance():
    """0.001 deg north is ~110.73 m up +y (x east stays 0); equal to the WGS 84 geodesic within 1 mm."""
    datum = MapDatum(LAT0, LON0, 0.0)
    x, y, z = datum.to_map(LAT0 + 0.001, LON0)
    _, _, geodesic = WGS84.inv(LON0, LAT0, LON0, LAT0 + 0.001)
    assert y == pytest.approx(110.73, abs=0.01)
    assert abs(y - geodesic) < 1e-3
    assert abs(x) < 1e-6
    assert -2e-3 < z < 0.0          # the ellipsoid falls away below the tangent plane (~1 mm here)


def test_point_east_is_on_the_x_axis():
    """0.001 deg east is +x (about 103.3 m at 21.96 N: cos(lat) shorter than a degree of latitude)."""
    datum = MapDatum(LAT0, LON0, 0.0)
    x, y, _ = datum.to_map(LAT0, LON0 + 0.001)
    _, _, geodesic = WGS84.inv(LON0, LAT0, LON0 + 0.001, LAT0)
    assert x == pytest.approx(geodesic, abs=1e-3)
    assert 103.0 < x < 103.6
    assert abs(y) < 1e-3


def test_height_defaults_to_the_datum_height():
    """to_map(lat, lon) places the point at the datum's height, so distances scale by (R + h) / R."""
    datum = MapDatum(LAT0, LON0, 250.0)
    default = datum.to_map(LAT0 + 0.001, LON0 + 0.0005)
    explicit = datum.to_map(LAT0 + 0.001, LON0 + 0.0005, 250.0)
    assert default == pytest.approx(explicit, abs=1e-9)
    on_ellipsoid = MapDatum(LAT0, LON0, 0.0).to_map(LAT0 + 0.001, LON0)[1]
    at_250m = datum.to_map(LAT0 + 0.001, LON0)[1]
    assert at_250m - on_ellipsoid == pytest.approx(on_ellipsoid * 250.0 / 6.378e6, rel=0.02)   # ~4.3 mm


def test_map_geographic_map_round_trip_over_2km_box():
    """map -> WGS 84 -> map returns every point of a 2 km x 2 km grid (and +-50 m up) within 1 mm."""
    datum = MapDatum(LAT0, 106.702, 250.0)
    gx, gy = np.meshgrid(np.linspace(-1000, 1000, 21), np.linspace(-1000, 1000, 21))
    x, y = gx.ravel(), gy.ravel()
    z = np.linspace(-50, 50, x.size)
    lat, lon, h = datum.to_geographic(x, y, z)
    assert np.all(np.abs(lat - LAT0) < 0.01) and np.all(np.abs(lon - 106.702) < 0.011)
    x2, y2, z2 = datum.to_map(lat, lon, h)
    assert np.max(np.hypot(x2 - x, y2 - y)) < 1e-3
    assert np.max(np.abs(z2 - z)) < 1e-3


def test_geographic_map_geographic_round_trip():
    """WGS 84 -> map -> WGS 84 returns the coordinates (1e-9 deg is 0.1 mm)."""
    datum = MapDatum(LAT0, LON0, 250.0)
    lat = np.array([21.95, 21.96, 21.9712345])
    lon = np.array([106.69, 106.70, 106.7098765])
    x, y, z = datum.to_map(lat, lon)
    lat2, lon2, h2 = datum.to_geographic(x, y, z)
    assert np.max(np.abs(lat2 - lat)) < 1e-9
    assert np.max(np.abs(lon2 - lon)) < 1e-9
    assert np.max(np.abs(h2 - 250.0)) < 1e-3


def test_enu_distance_is_utm_distance_without_the_utm_scale():
    """Between 21.96N 106.70E and 21.97N 106.71E (~1.5 km), the ENU distance is the UTM 48N (EPSG:32648)
    grid distance divided by the UTM point scale (~0.99998 here). 1e-6 relative: the raw UTM distance
    (1.7e-5 off) would fail."""
    a, b = (21.96, 106.70), (21.97, 106.71)
    to_utm = Transformer.from_crs('EPSG:4326', 'EPSG:32648', always_xy=True)
    (ea, eb), (na, nb) = to_utm.transform([a[1], b[1]], [a[0], b[0]])
    utm_distance = math.hypot(eb - ea, nb - na)
    scale = Proj('EPSG:32648').get_factors((a[1] + b[1]) / 2, (a[0] + b[0]) / 2).meridional_scale
    assert abs(scale - 1.0) > 1e-5          # the test can tell the two apart
    x, y, _ = MapDatum(a[0], a[1], 0.0).to_map(*b)
    enu_distance = math.hypot(x, y)
    assert enu_distance == pytest.approx(1514.25, abs=0.05)
    assert abs(enu_distance - utm_distance / scale) / enu_distance < 1e-6
    assert abs(enu_distance - utm_distance) / enu_distance > 1e-5


@pytest.mark.parametrize('lat, lon, h, what', [
    (95.0, LON0, 0.0, 'latitude'),
    (-90.5, LON0, 0.0, 'latitude'),
    (math.nan, LON0, 0.0, 'latitude'),
    (LAT0, 200.0, 0.0, 'longitude'),
    (LAT0, math.inf, 0.0, 'longitude'),
    (LAT0, LON0, math.nan, 'height'),
])
def test_invalid_datum_raises_value_error(lat, lon, h, what):
    """A datum off the globe or not finite is refused, naming the bad coordinate."""
    with pytest.raises(ValueError, match=what):
        MapDatum(lat, lon, h)
