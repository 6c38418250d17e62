"""lane_map: the pilot map loads and is consistent; malformed maps fail with a MapError naming the file
and the feature; routes, speed limits and the drivable area come out right."""
import copy
import json
import math

import numpy as np
import pytest
import shapely

from smartgate_core.lane_map import EDGE_DENSIFY_M, MapError, UnknownRouteError, load_map
from smartgate_core.route import PathError

KMH = 1 / 3.6
ROUTE_IDS = ['moc1119_export_crane_to_km0', 'moc1119_export_full', 'moc1119_export_yard_to_crane',
             'moc1119_import_km0_to_crane']
DRIVERLESS_EXPORT_X = 3.5 * 3.75     # kerb-side lane (index 4) centreline, map frame [m]


# --- the real map ------------------------------------------------------------------------------

def test_real_map_loads_with_its_datum_and_routes(real_map, real_map_file):
    assert real_map.source == real_map_file
    assert 'Hữu Nghị' in real_map.name
    d = real_map.datum
    assert (d.latitude_deg, d.longitude_deg, d.height_m) == (21.96, 106.702, 250.0)
    assert real_map.route_ids == ROUTE_IDS


def test_real_map_says_it_is_illustrative(real_map_file):
    """The pilot map is drawn, not surveyed, and says so."""
    props = json.loads(real_map_file.read_text(encoding='utf-8'))['properties']
    assert props['illustrative'] is True
    assert props['surveyed'] is False
    assert 'NOT SURVEYED' in props['notice']


def test_eight_lanes_two_driverless(real_map):
    """4 export + 4 import lanes; exactly one driverless lane each way, the kerb-side one (index 4)."""
    lanes = real_map.of_kind('lane')
    assert len(lanes) == 8
    assert sorted(f.properties['direction'] for f in lanes) == ['export'] * 4 + ['import'] * 4
    driverless = [f for f in lanes if f.properties['driverless']]
    assert sorted(f.properties['direction'] for f in driverless) == ['export', 'import']
    assert all(f.properties['index'] == 4 for f in driverless)
    export = next(f for f in driverless if f.properties['direction'] == 'export').geometry
    # WGS 84 -> map frame reproduces the drawn layout: x = 13.125 m, northbound (export towards km 0)
    assert np.allclose(np.asarray(export.coords)[:, 0], DRIVERLESS_EXPORT_X, atol=1e-3)
    assert export.coords[-1][1] > export.coords[0][1]


def test_route_lengths_and_ends(real_map):
    """Routes run node to node: 60 m yard->crane, ~694 m crane->km 0, and the full route is both."""
    lengths = {rid: real_map.route(rid).length_m for rid in ROUTE_IDS}
    assert lengths['moc1119_export_yard_to_crane'] == pytest.approx(60.0, abs=0.01)
    assert lengths['moc1119_export_crane_to_km0'] == pytest.approx(694.0, abs=1.0)
    assert lengths['moc1119_export_full'] == pytest.approx(
        lengths['moc1119_export_yard_to_crane'] + lengths['moc1119_export_crane_to_km0'], abs=0.01)
    for rid in ROUTE_IDS:
        route = real_map.route(rid)
        assert route.xy[0] == pytest.approx(real_map.stop_pose(route.node_ids[0]), abs=1e-3)
        assert route.xy[-1] == pytest.approx(real_map.stop_pose(route.stop_node_id), abs=1e-3)
    assert real_map.route('moc1119_export_yard_to_crane').stop_node_id == 'vn_exp_cb1_stop'


def test_crane_to_km0_has_an_s_curve_of_radius_65m(real_map):
    """The yard exit is an S-curve of two ~65 m arcs: a left turn (+1/65) then a right turn (-1/65)."""
    route = real_map.route('moc1119_export_crane_to_km0')
    k = route.curvature
    left = route.s[k > 0.5 / 65.0]
    right = route.s[k < -0.5 / 65.0]
    assert left.size and right.size and left.max() < right.min()
    assert np.median(k[k > 0.5 / 65.0]) * 65.0 == pytest.approx(1.0, abs=0.03)
    assert np.median(k[k < -0.5 / 65.0]) * -65.0 == pytest.approx(1.0, abs=0.03)
    assert np.abs(k).max() * 65.0 < 1.03


def _allowed_limits(lane_map, route):
    """Per route sample: the limit of the edge it lies on (the higher one exactly at a junction) and of
    every speed zone it is strictly inside; and each sample's distance to the nearest junction/zone edge."""
    edges = [lane_map.features[f'{a}__{b}'] for a, b in zip(route.node_ids, route.node_ids[1:])]
    points = shapely.points(route.xy)
    on_edge = np.array([shapely.distance(e.geometry, points) < 1e-6 for e in edges])
    assert on_edge.any(axis=0).all(), 'a route sample is on none of its edges'
    edge_limit = np.array([e.properties['max_speed_mps'] for e in edges])
    allowed = np.where(on_edge, edge_limit[:, None], -np.inf).max(axis=0)
    boundary_distance = np.full(len(route.xy), np.inf)
    for zone in lane_map.of_kind('speed_zone'):
        inside = shapely.contains_xy(zone.geometry, route.xy[:, 0], route.xy[:, 1])
        allowed[inside] = np.minimum(allowed[inside], zone.properties['max_speed_mps'])
        boundary_distance = np.minimum(boundary_distance, shapely.distance(zone.geometry.exterior, points))
    for node_id in route.node_ids[1:-1]:
        boundary_distance = np.minimum(boundary_distance,
                                       np.hypot(*(route.xy - lane_map.stop_pose(node_id)).T))
    return allowed, boundary_distance


@pytest.mark.parametrize('route_id', ROUTE_IDS)
def test_route_speed_limits_respect_edges_and_zones_away_from_boundaries(real_map, route_id):
    """More than EDGE_DENSIFY_M (1 m) from a zone boundary or an edge junction, every route sample's
    limit is within its edge's and its zones' limits."""
    route = real_map.route(route_id)
    allowed, boundary_distance = _allowed_limits(real_map, route)
    far = boundary_distance > EDGE_DENSIFY_M + 0.01
    assert far.mean() > 0.95            # the check covers nearly all of the route
    assert np.all(route.speed_limit_mps[far] <= allowed[far] + 1e-9)
    assert np.all(route.speed_limit_mps > 0)


@pytest.mark.parametrize('route_id', ['moc1119_export_crane_to_km0', 'moc1119_import_km0_to_crane'])
def test_route_speed_limits_respect_edges_and_zones_everywhere(real_map, route_id):
    """Every route sample's limit is within the limit of its edge and of every speed zone it is inside."""
    route = real_map.route(route_id)
    allowed, _ = _allowed_limits(real_map, route)
    over = np.flatnonzero(route.speed_limit_mps > allowed + 1e-9)
    assert over.size == 0, (f'{over.size} samples over the limit, first at s={route.s[over[0]]:.2f} m, '
                            f'xy={route.xy[over[0]].round(2).tolist()}: {route.speed_limit_mps[over[0]] / KMH:.1f} '
                            f'km/h > {allowed[over[0]] / KMH:.1f} km/h')


def test_crane_to_km0_speed_limits_by_zone(real_map):
    """Yard 15 km/h, smart lane 30 km/h, customs 20 km/h, handover zone 15 km/h, in that order."""
    route = real_map.route('moc1119_export_crane_to_km0')

    def limit_at_y(y):
        i = int(np.argmin(np.abs(route.xy[:, 1] - y) + 1e3 * (np.abs(route.xy[:, 0] - DRIVERLESS_EXPORT_X) > 0.01)))
        return route.speed_limit_mps[i] / KMH

    assert route.speed_limit_mps[0] / KMH == pytest.approx(15.0, abs=0.01)          # in the export yard
    assert limit_at_y(200.0) == pytest.approx(30.0, abs=0.01)
    assert limit_at_y(300.0) == pytest.approx(20.0, abs=0.01)
    assert limit_at_y(450.0) == pytest.approx(30.0, abs=0.01)
    assert limit_at_y(620.0) == pytest.approx(15.0, abs=0.01)
    assert route.speed_limit_mps.max() / KMH == pytest.approx(30.0, abs=0.01)


def test_speed_limit_at_takes_the_lowest_zone(real_map):
    limits = real_map.speed_limit_at([(DRIVERLESS_EXPORT_X, 300.0), (DRIVERLESS_EXPORT_X, 200.0),
                                      (DRIVERLESS_EXPORT_X, 650.0), (60.0, -50.0)], 99.0)
    assert limits / KMH == pytest.approx([20.0, 99.0 / KMH, 15.0, 15.0], abs=0.01)


def test_unknown_route_lists_known_ids(real_map):
    """An unknown route id raises UnknownRouteError (a KeyError) naming it, the map and every known id."""
    with pytest.raises(UnknownRouteError) as info:
        real_map.route('moc1119_nowhere')
    message = str(info.value)
    assert isinstance(info.value, KeyError)
    assert "'moc1119_nowhere'" in message and 'moc_1119_1120.geojson' in message
    for rid in ROUTE_IDS:
        assert rid in message
    with pytest.raises(UnknownRouteError):
        real_map.route('export_lane_4')             # a feature, but not a route


def test_check_path_accepts_the_driverless_lane_and_rejects_off_road(real_map):
    """check_path accepts a path on the driverless lane (and in a yard); a point off the road is refused
    with its index and the map's name."""
    on_lane = [(DRIVERLESS_EXPORT_X, y) for y in np.arange(150.0, 170.0, 1.0)]
    assert real_map.check_path(on_lane).shape == (20, 2)
    assert real_map.check_path([(80.0, -100.0), (80.0, -96.0)]).shape == (2, 2)       # export yard
    off_road = on_lane[:3] + [(DRIVERLESS_EXPORT_X + 40.0, 152.0)]                # 40 m east of the lane
    with pytest.raises(PathError, match=r'goal path: .*jump'):
        real_map.check_path(off_road, 'goal path')
    with pytest.raises(PathError, match=r"goal path: point 0 \(200\.0, 300\.0\) is off the map moc_1119_1120"):
        real_map.check_path([(200.0, 300.0), (200.0, 304.0)], 'goal path')
    lane_edge = DRIVERLESS_EXPORT_X + 3.75 / 2
    with pytest.raises(PathError, match='point 2'):
        real_map.check_path([(lane_edge + 1.0, 150.0), (lane_edge + 1.5, 151.0), (lane_edge + 2.5, 152.0)])


def test_drivable_area_covers_lanes_and_yards(real_map):
    area = real_map.drivable_area()
    assert shapely.contains_xy(area, DRIVERLESS_EXPORT_X, 400.0)
    assert shapely.contains_xy(area, -DRIVERLESS_EXPORT_X, 400.0)
    assert shapely.contains_xy(area, 100.0, 0.0)            # export yard
    assert not shapely.contains_xy(area, 100.0, 400.0)      # beside the road
    assert not shapely.contains_xy(area, 0.0, 720.0)        # beyond the end of the lanes


# --- malformed maps ---------------------------------------------------------------------------

@pytest.fixture(scope='module')
def base_doc(real_map_file):
    return json.loads(real_map_file.read_text(encoding='utf-8'))


def _index(doc, fid):
    return next(i for i, f in enumerate(doc['features']) if f['properties'].get('id') == fid)


def _write(tmp_path, name, doc):
    path = tmp_path / f'{name}.geojson'
    path.write_text(json.dumps(doc), encoding='utf-8')       # json writes NaN as NaN, which it reads back
    return path


def _mutated(base_doc, fid, mutate):
    doc = copy.deepcopy(base_doc)
    mutate(doc['features'][_index(doc, fid)])
    return doc


def _shift_last_vertex_north(feature, degrees):
    feature['geometry']['coordinates'][-1][1] += degrees


FILE_LEVEL = {
    'not_a_feature_collection': (lambda d: d.update(type='Feature'), 'GeoJSON FeatureCollection'),
    'missing_datum': (lambda d: d['properties'].pop('datum'), 'properties.datum must give'),
    'datum_off_the_globe': (lambda d: d['properties']['datum'].update(latitude_deg=95.0), 'latitude_deg'),
    'missing_illustrative_flag': (lambda d: d['properties'].pop('illustrative'), "'illustrative': true"),
    'no_features': (lambda d: d.update(features=[]), 'features must be a non-empty list'),
}


@pytest.mark.parametrize('case', sorted(FILE_LEVEL))
def test_malformed_collection_names_the_file(tmp_path, base_doc, case):
    mutate, message = FILE_LEVEL[case]
    doc = copy.deepcopy(base_doc)
    mutate(doc)
    path = _write(tmp_path, case, doc)
    with pytest.raises(MapError, match=message) as info:
        load_map(path)
    assert str(info.value).startswith(f'{path}: ')


def test_invalid_json_names_the_file_and_position(tmp_path):
    path = tmp_path / 'broken.geojson'
    path.write_text('{"type": "FeatureCollection",\n "features": [}', encoding='utf-8')
    with pytest.raises(MapError, match=r'not valid JSON \(line 2, column') as info:
        load_map(path)
    assert str(info.value).startswith(f'{path}: ')


def test_missing_file_is_a_map_error(tmp_path):
    with pytest.raises(MapError, match='map file not found'):
        load_map(tmp_path / 'nowhere.geojson')


FEATURE_LEVEL = {
    # case: (feature id, mutation, message fragment)
    'unknown_kind': ('vn_export_yard', lambda f: f['properties'].update(kind='parking_lot'),
                     "unknown kind 'parking_lot'"),
    'wrong_geometry_type': ('export_lane_4', lambda f: f.update(geometry={'type': 'Point',
                                                                          'coordinates': [106.702, 21.96]}),
                            'geometry must be LineString, got Point'),
    'nan_coordinate': ('export_lane_4', lambda f: f['geometry']['coordinates'][0].__setitem__(1, math.nan),
                       'coordinates must be finite'),
    'nan_point': ('vn_exp_handover', lambda f: f['geometry'].update(coordinates=[math.nan, 21.96]),
                  'coordinates must be finite'),
    'latitude_out_of_range': ('zone_customs', lambda f: f['geometry']['coordinates'][0][1].__setitem__(1, 95.0),
                              'out of range'),
    'no_geometry': ('export_lane_4', lambda f: f.update(geometry=None), 'malformed geometry'),
    'one_point_line': ('export_lane_4', lambda f: f['geometry'].update(coordinates=[[106.702, 21.96]]),
                       'malformed geometry'),
    'missing_property': ('export_lane_4', lambda f: f['properties'].pop('width_m'), 'properties.width_m'),
    'bool_is_not_an_index': ('export_lane_4', lambda f: f['properties'].update(index=True), 'properties.index'),
    'string_is_not_a_bool': ('export_lane_4', lambda f: f['properties'].update(driverless='yes'),
                             'properties.driverless'),
    'speed_out_of_range': ('vn_exp_customs__vn_exp_handover',
                           lambda f: f['properties'].update(max_speed_mps=50.0), r'must be in \(0, 40\]'),
    'nan_speed': ('zone_customs', lambda f: f['properties'].update(max_speed_mps=math.nan),
                  'properties.max_speed_mps'),
    'self_intersecting_polygon': ('zone_customs', lambda f: f['geometry'].update(coordinates=[[
        [106.70, 21.96], [106.71, 21.97], [106.71, 21.96], [106.70, 21.97], [106.70, 21.96]]]),
        'not valid'),
}


@pytest.mark.filterwarnings('ignore::RuntimeWarning')       # shapely warns about NaN coordinates
@pytest.mark.parametrize('case', sorted(FEATURE_LEVEL))
def test_malformed_feature_names_file_index_and_id(tmp_path, base_doc, case):
    """A bad feature raises MapError: '<file>: feature #<index> (id '<id>'): <problem>'."""
    fid, mutate, message = FEATURE_LEVEL[case]
    path = _write(tmp_path, case, _mutated(base_doc, fid, mutate))
    with pytest.raises(MapError, match=message) as info:
        load_map(path)
    assert str(info.value).startswith(f"{path}: feature #{_index(base_doc, fid)} (id '{fid}'): ")


def test_duplicate_id_names_the_second_feature(tmp_path, base_doc):
    doc = copy.deepcopy(base_doc)
    second = _index(doc, 'export_lane_2')
    doc['features'][second]['properties']['id'] = 'export_lane_1'
    path = _write(tmp_path, 'duplicate', doc)
    with pytest.raises(MapError) as info:
        load_map(path)
    assert str(info.value) == f"{path}: feature #{second}: duplicate id 'export_lane_1'"


def test_feature_without_id_names_its_index(tmp_path, base_doc):
    doc = copy.deepcopy(base_doc)
    doc['features'][5]['properties'].pop('id')
    path = _write(tmp_path, 'no_id', doc)
    with pytest.raises(MapError, match=r'feature #5: properties.id must be a non-empty string'):
        load_map(path)


REFERENCE_LEVEL = {
    # case: (feature id, mutation of that feature, message fragment)
    'edge_end_far_from_node': ('vn_exp_park_1__vn_exp_cb1_stop',
                               lambda f: _shift_last_vertex_north(f, 1e-5),     # ~1.1 m
                               "route_edge 'vn_exp_park_1__vn_exp_cb1_stop': its to end is 1.11 m from node "
                               "'vn_exp_cb1_stop'"),
    'edge_from_unknown_node': ('vn_exp_park_1__vn_exp_cb1_stop', lambda f: f['properties'].update({'from': 'nowhere'}),
                               "route_edge 'vn_exp_park_1__vn_exp_cb1_stop': from node 'nowhere' is not a route_node"),
    'route_names_missing_edge': ('moc1119_export_yard_to_crane',
                                 lambda f: f['properties'].update(node_ids=['vn_exp_park_1', 'vn_exp_customs']),
                                 "route 'moc1119_export_yard_to_crane': no route_edge from 'vn_exp_park_1' to "
                                 "'vn_exp_customs'"),
    'route_with_one_node': ('moc1119_export_full', lambda f: f['properties'].update(node_ids=['vn_exp_park_1']),
                            "route 'moc1119_export_full': node_ids must list at least 2 node ids"),
    'stop_line_on_another_lane': ('stop_exp_customs', lambda f: f['properties'].update(lane='export_lane_1'),
                                  "stop_line 'stop_exp_customs': does not cross its lane 'export_lane_1'"),
    'crane_bay_unknown_stop': ('vn_export_cb1', lambda f: f['properties'].update(stop_node='nowhere'),
                               "crane_bay 'vn_export_cb1': stop_node 'nowhere' is not a route_node"),
}


@pytest.mark.parametrize('case', sorted(REFERENCE_LEVEL))
def test_broken_reference_names_file_and_feature_id(tmp_path, base_doc, case):
    """Cross-feature checks (edges snap to their nodes, routes follow edges) name the file and the id."""
    fid, mutate, message = REFERENCE_LEVEL[case]
    path = _write(tmp_path, case, _mutated(base_doc, fid, mutate))
    with pytest.raises(MapError) as info:
        load_map(path)
    kind_and_id, _, rest = message.partition(': ')
    assert str(info.value).startswith(f'{path}: feature #')
    assert str(info.value).endswith(f'({kind_and_id}): {rest}')


@pytest.mark.parametrize('case', ['edge_end_far_from_node', 'route_names_missing_edge'])
def test_broken_reference_also_names_the_feature_index(tmp_path, base_doc, case):
    fid, mutate, _ = REFERENCE_LEVEL[case]
    path = _write(tmp_path, case, _mutated(base_doc, fid, mutate))
    with pytest.raises(MapError, match=f'#{_index(base_doc, fid)}'):
        load_map(path)


def test_non_numeric_speed_on_any_feature_is_a_map_error(tmp_path, base_doc):
    path = _write(tmp_path, 'string_speed', _mutated(base_doc, 'vn_exp_handover',
                                                     lambda f: f['properties'].update(max_speed_mps='fast')))
    with pytest.raises(MapError, match="feature #.* \\(id 'vn_exp_handover'\\)"):
        load_map(path)


def test_empty_point_is_a_map_error(tmp_path, base_doc):
    path = _write(tmp_path, 'empty_point', _mutated(base_doc, 'vn_exp_handover',
                                                    lambda f: f['geometry'].update(coordinates=[])))
    with pytest.raises(MapError, match="id 'vn_exp_handover'"):
        load_map(path)
