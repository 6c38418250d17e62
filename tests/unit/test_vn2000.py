"""VN-2000 / TM-3 107-15 (EPSG:9215) through the named Helmert variant, and the 5G gNB sites of a map
(WGS 84 in YAML -> map frame), whose bad files fail with a MapError naming the file."""
import math
from pathlib import Path

import numpy as np
import pytest
import shapely
import yaml
from pyproj import CRS, Transformer
from pyproj.transformer import TransformerGroup
from shapely.geometry import Point

from smartgate_core import geodesy
from smartgate_core.geodesy import VN2000_HELMERT, VN2000_TM3_LANG_SON, to_vn2000_tm3
from smartgate_core.lane_map import MapError

GNB_SITES_FILE = Path(__file__).resolve().parents[2] / 'config' / 'gnb_sites.yaml'
LAT0, LON0 = 21.96, 106.702             # datum of the mốc 1119-1120 map
CENTRAL_MERIDIAN = 107.25               # TM-3 107-15 (Lạng Sơn)
M_PER_DEG_LAT = 110_760.0               # at 21.96 N
M_PER_DEG_LON = 103_300.0


def _helmert(variant):
    """pyproj's VN-2000 -> WGS 84 operation called `variant` (e.g. 'VN-2000 to WGS 84 (1)')."""
    group = TransformerGroup('EPSG:4756', 'EPSG:4326', always_xy=True)
    found = [t for t in group.transformers if variant in t.description]
    assert len(found) == 1, [t.description for t in group.transformers]
    return found[0]


def _tm3_via(variant, lat, lon):
    """WGS 84 -> VN-2000 geographic through the inverse of `variant`, then the TM-3 107-15 projection."""
    vlon, vlat = _helmert(variant).transform(lon, lat, direction='INVERSE')
    return Transformer.from_crs('EPSG:4756', VN2000_TM3_LANG_SON, always_xy=True).transform(vlon, vlat)


# the published parameters of EPSG 'VN-2000 to WGS 84 (2)' (coordinate frame rotation), written out, so
# the reference does not depend on how pyproj picks operations
EXPLICIT_PIPELINE = (
    '+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad +step +proj=push +v_3 '
    '+step +proj=cart +ellps=WGS84 '
    '+step +inv +proj=helmert +x=-191.90441429 +y=-39.30318279 +z=-111.45032835 +rx=-0.00928836 '
    '+ry=0.01975479 +rz=-0.00427372 +s=0.252906278 +convention=coordinate_frame '
    '+step +inv +proj=cart +ellps=WGS84 +step +proj=pop +v_3 '
    '+step +proj=tmerc +lat_0=0 +lon_0=107.25 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84')


def test_target_crs_is_tm3_107_15():
    crs = CRS(VN2000_TM3_LANG_SON)
    assert crs.name == 'VN-2000 / TM-3 107-15'
    assert crs.coordinate_operation.params[1].value == CENTRAL_MERIDIAN      # longitude of natural origin


def test_datum_equals_pyproj_with_the_named_variant():
    e, n = to_vn2000_tm3(LAT0, LON0)
    ref_e, ref_n = _tm3_via(VN2000_HELMERT, LAT0, LON0)
    assert (e, n) == pytest.approx((ref_e, ref_n), abs=1e-6)
    exp_e, exp_n = Transformer.from_pipeline(EXPLICIT_PIPELINE).transform(LON0, LAT0)
    assert math.hypot(e - exp_e, n - exp_n) < 1e-3
    assert geodesy._vn2000_transformer().description.count(VN2000_HELMERT) == 1


def test_the_other_helmert_variant_differs_so_the_choice_matters():
    """pyproj also offers 'VN-2000 to WGS 84 (1)' (published for the Mekong delta): 0.1-2 m away here."""
    others = [t.description for t in TransformerGroup('EPSG:4756', 'EPSG:4326', always_xy=True).transformers
              if VN2000_HELMERT not in t.description]
    assert any('VN-2000 to WGS 84 (1)' in d for d in others), others
    e, n = to_vn2000_tm3(LAT0, LON0)
    for description in others:
        oe, on = _tm3_via(description, LAT0, LON0)
        assert 0.1 < math.hypot(e - oe, n - on) < 2.0, description


def test_datum_lies_west_of_the_central_meridian_at_the_expected_grid_position():
    e, n = to_vn2000_tm3(LAT0, LON0)
    assert e < 500_000.0                                                     # 106.702 E < 107.25 E
    approx_e = 500_000.0 + (LON0 - CENTRAL_MERIDIAN) * M_PER_DEG_LON        # ~ 443 400 m
    assert abs(e - approx_e) < 1_000.0                                       # TM curvature + datum shift
    assert 2.42e6 < n < 2.44e6
    # and along a meridian, northing grows by ~110.8 km per degree (k0 = 0.9999)
    _, n1 = to_vn2000_tm3(LAT0 + 0.01, LON0)
    assert (n1 - n) / 0.01 == pytest.approx(M_PER_DEG_LAT * 0.9999, rel=2e-3)


def test_round_trip_through_the_inverse_transformer_within_1_mm():
    lat = np.linspace(21.94, 21.98, 9)
    lon = np.linspace(106.68, 106.72, 9)
    e, n = to_vn2000_tm3(lat, lon)
    lon2, lat2 = geodesy._vn2000_transformer().transform(e, n, direction='INVERSE')
    err_m = np.hypot((lat2 - lat) * M_PER_DEG_LAT, (lon2 - lon) * M_PER_DEG_LON)
    assert err_m.max() < 1e-3


def test_vectorised_input_matches_point_by_point():
    lat = np.array([[21.955, 21.96], [21.965, 21.97]])
    lon = np.array([[106.70, 106.702], [106.705, 106.71]])
    e, n = to_vn2000_tm3(lat, lon)
    assert np.shape(e) == lat.shape and np.shape(n) == lat.shape
    for i in np.ndindex(lat.shape):
        assert (e[i], n[i]) == pytest.approx(to_vn2000_tm3(float(lat[i]), float(lon[i])), abs=1e-9)
    e_list, n_list = to_vn2000_tm3(list(lat.ravel()), list(lon.ravel()))
    assert np.allclose(e_list, e.ravel(), rtol=0, atol=1e-9) and np.allclose(n_list, n.ravel(), rtol=0, atol=1e-9)


# ---------------------------------------------------------------------------------------------- gNB sites

def test_real_sites_of_the_1119_map_are_near_the_road_and_25_m_up(real_map):
    sites = real_map.gnb_sites(GNB_SITES_FILE)
    assert sorted(sites) == ['gnb_hn_01', 'gnb_hn_02', 'gnb_hn_03', 'gnb_hn_04']
    road = shapely.union_all([f.geometry for f in real_map.of_kind('lane')])
    for site, (x, y, z) in sites.items():
        assert all(math.isfinite(v) for v in (x, y, z)), site
        assert road.distance(Point(x, y)) < 300.0, site
        assert z == pytest.approx(275.0 - real_map.datum.height_m, abs=0.1), site    # ~25 m above the datum
    # the same points as the map frame's own conversion of the file's WGS 84 coordinates
    raw = yaml.safe_load(GNB_SITES_FILE.read_text(encoding='utf-8'))['moc_1119_1120']
    for site, e in raw.items():
        ref = real_map.datum.to_map(e['latitude_deg'], e['longitude_deg'], e['height_m'])
        assert sites[site] == pytest.approx(tuple(float(v) for v in ref), abs=1e-6)


def _sites_file(tmp_path, doc):
    path = tmp_path / 'gnb_sites.yaml'
    path.write_text(yaml.safe_dump(doc), encoding='utf-8')
    return path


SITE = {'latitude_deg': 21.961, 'longitude_deg': 106.7035, 'height_m': 275.0}


@pytest.mark.parametrize('case, doc, says', [
    ('map key missing', {'moc_1088_1089': {'gnb_tt_01': SITE}}, "no gNB sites for map 'moc_1119_1120'"),
    ('map key empty', {'moc_1119_1120': {}}, "no gNB sites for map 'moc_1119_1120'"),
    ('longitude missing', {'moc_1119_1120': {'gnb_x': {'latitude_deg': 21.961, 'height_m': 275.0}}},
     'moc_1119_1120.gnb_x needs latitude_deg, longitude_deg, height_m'),
    ('entry not a mapping', {'moc_1119_1120': {'gnb_x': [21.961, 106.7035, 275.0]}},
     'moc_1119_1120.gnb_x needs'),
    ('latitude not a number', {'moc_1119_1120': {'gnb_x': dict(SITE, latitude_deg='north')}},
     'moc_1119_1120.gnb_x needs'),
    ('height nan', {'moc_1119_1120': {'gnb_x': dict(SITE, height_m=float('nan'))}}, 'non-finite'),
    ('top level a list', [SITE], 'no gNB sites'),
])
def test_bad_sites_file_raises_map_error_naming_the_file(real_map, tmp_path, case, doc, says):
    path = _sites_file(tmp_path, doc)
    with pytest.raises(MapError) as info:
        real_map.gnb_sites(path)
    assert str(path) in str(info.value)
    assert says in str(info.value)


def test_missing_or_broken_sites_file_raises_map_error_naming_the_file(real_map, tmp_path):
    missing = tmp_path / 'nope.yaml'
    with pytest.raises(MapError, match='cannot read gNB sites') as info:
        real_map.gnb_sites(missing)
    assert str(missing) in str(info.value)
    broken = tmp_path / 'broken.yaml'
    broken.write_text('moc_1119_1120: {gnb_x: [unclosed\n', encoding='utf-8')
    with pytest.raises(MapError, match='cannot read gNB sites') as info:
        real_map.gnb_sites(broken)
    assert str(broken) in str(info.value)


@pytest.mark.parametrize('field, value', [('latitude_deg', 95.0), ('longitude_deg', 206.7)])
def test_site_off_the_globe_raises_map_error(real_map, tmp_path, field, value):
    path = _sites_file(tmp_path, {'moc_1119_1120': {'gnb_x': dict(SITE, **{field: value})}})
    with pytest.raises(MapError, match='gnb_x'):
        real_map.gnb_sites(path)
