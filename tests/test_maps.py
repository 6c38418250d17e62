"""The lane maps of both smart-lane roads: they load, say they are illustrative, have the pilot's 8 lanes,
stop lines that cross real lanes and routes a 15 m IGV can drive; maps/generate_maps.py redraws them
byte for byte. Fast: no ROS, one load per map."""
import functools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString
from shapely.ops import substring

from smartgate_core.lane_map import MapError, load_map
from smartgate_core.route import Route

MAPS_DIR = Path(__file__).resolve().parents[1] / 'maps'
ROUTES = {
    'moc_1119_1120': ['moc1119_export_crane_to_km0', 'moc1119_export_full', 'moc1119_export_yard_to_crane',
                      'moc1119_import_km0_to_crane'],
    'moc_1088_1089': ['moc1088_export_full', 'moc1088_export_yard_to_km0', 'moc1088_import_km0_to_yard'],
}
MAX_LATERAL_ACCEL_MPS2 = 1.0     # comfort/stability limit for a laden 15 m IGV [m/s^2]
MAX_SAMPLE_GAP_M = 0.3           # route samples the controller sees [m]
MAX_BEND_VERTEX_GAP_M = 1.0      # vertex spacing of lanes and edges on bends (mốc 1088 map) [m]
ON_LANE_TOL_M = 0.01             # "on the lane": WGS 84 round trip keeps ~0.1 mm [m]


@functools.cache
def _load(name):
    """A map loaded once per test run (read-only: tests must not mutate it)."""
    return load_map(MAPS_DIR / f'{name}.geojson')


@pytest.fixture(params=sorted(ROUTES))
def lane_map(request):
    return _load(request.param)


@pytest.fixture
def map_1088():
    return _load('moc_1088_1089')


def _driverless(lane_map):
    """{'export': lane feature, 'import': lane feature} of the driverless lanes."""
    return {f.properties['direction']: f for f in lane_map.of_kind('lane') if f.properties['driverless']}


def _headings_deg(coords):
    d = np.diff(np.asarray(coords), axis=0)
    return np.degrees(np.unwrap(np.arctan2(d[:, 1], d[:, 0])))


# --- contents ----------------------------------------------------------------------------------

def test_map_says_it_is_illustrative(lane_map):
    props = json.loads(lane_map.source.read_text(encoding='utf-8'))['properties']
    assert props['illustrative'] is True and props['surveyed'] is False
    assert 'NOT SURVEYED' in props['notice']


def test_eight_lanes_one_driverless_each_way(lane_map):
    """4 export + 4 import lanes of 3.75 m; the driverless one of each direction is the kerb-side index 4."""
    lanes = lane_map.of_kind('lane')
    assert sorted(f.properties['direction'] for f in lanes) == ['export'] * 4 + ['import'] * 4
    assert all(f.properties['width_m'] == 3.75 for f in lanes)
    driverless = [f for f in lanes if f.properties['driverless']]
    assert sorted(f.properties['direction'] for f in driverless) == ['export', 'import']
    assert all(f.properties['index'] == 4 for f in driverless)


def test_border_line_and_handover_points_either_side(lane_map):
    """One km 0 line crossing both driverless lanes; each handover point lies on a driverless lane, before
    km 0 in that lane's direction of travel (export: still in VN; import: still in CN)."""
    (km0,) = lane_map.of_kind('border_line')
    lanes = _driverless(lane_map)
    handovers = lane_map.of_kind('handover_point')
    assert len(handovers) == 2
    for h in handovers:
        node = lane_map.features[h.properties['node']].geometry
        assert node.distance(h.geometry) < ON_LANE_TOL_M
        lane = min(lanes.values(), key=lambda f: f.geometry.distance(node)).geometry
        assert lane.distance(node) < ON_LANE_TOL_M
        assert lane.crosses(km0.geometry)
        assert lane.project(node) < lane.project(lane.intersection(km0.geometry))
    assert {min(lanes, key=lambda d: lanes[d].geometry.distance(h.geometry)) for h in handovers} == {'export', 'import'}


def test_crane_bays_have_their_stop_node_at_the_centre(lane_map):
    bays = lane_map.of_kind('crane_bay')
    assert bays
    for bay in bays:
        stop = lane_map.features[bay.properties['stop_node']]
        assert stop.properties['role'] == 'crane_bay_stop'
        assert stop.geometry.distance(bay.geometry.centroid) < ON_LANE_TOL_M


def test_stop_lines_cross_the_driverless_lanes_at_customs_and_handover(lane_map):
    """Each driverless lane has a stop line before its customs checkpoint and one at its handover point."""
    lanes = {f.id: f for f in lane_map.of_kind('lane')}
    stops = lane_map.of_kind('stop_line')
    assert stops
    for stop in stops:
        lane = lanes[stop.properties['lane']]
        assert stop.geometry.crosses(lane.geometry)
        assert stop.geometry.length == pytest.approx(lane.properties['width_m'], abs=0.01)
    for lane in _driverless(lane_map).values():
        reasons = sorted(s.properties['reason'] for s in stops if s.properties['lane'] == lane.id)
        assert reasons == ['customs_checkpoint', 'handover']
        (customs_stop,) = [s for s in stops if s.properties['lane'] == lane.id
                           and s.properties['reason'] == 'customs_checkpoint']
        at = lane.geometry.project(lane.geometry.intersection(customs_stop.geometry))
        checkpoint = min(lane_map.of_kind('customs_checkpoint'), key=lambda c: c.geometry.distance(lane.geometry))
        entry = min(lane.geometry.project(p) for p in shapely.points(
            np.asarray(lane.geometry.intersection(checkpoint.geometry).coords)))
        assert 0.0 < entry - at <= 5.0         # just before the checkpoint, in the direction of travel


def test_1119_keeps_the_ids_and_coordinates_the_demo_uses():
    lane_map = _load('moc_1119_1120')
    assert lane_map.stop_pose('vn_exp_park_1') == pytest.approx((60.0, -110.0), abs=1e-3)
    assert lane_map.stop_pose('vn_exp_cb1_stop') == pytest.approx((60.0, -50.0), abs=1e-3)
    assert lane_map.stop_pose('vn_exp_handover') == pytest.approx((13.125, 630.0), abs=1e-3)


# --- routes ------------------------------------------------------------------------------------

def test_every_route_is_listed(lane_map):
    assert lane_map.route_ids == ROUTES[lane_map.source.stem]


@pytest.mark.parametrize('map_name, route_id', [(m, r) for m, ids in ROUTES.items() for r in ids])
def test_route_is_drivable(map_name, route_id):
    """Lateral acceleration v^2 |curvature| <= 1 m/s^2 at the route's own speed limits, samples <= 0.3 m
    apart, and every sample on the drivable area."""
    lane_map = _load(map_name)
    route = lane_map.route(route_id)
    lateral = route.speed_limit_mps ** 2 * np.abs(route.curvature)
    worst = int(np.argmax(lateral))
    assert lateral[worst] <= MAX_LATERAL_ACCEL_MPS2, \
        f'{lateral[worst]:.2f} m/s^2 at s={route.s[worst]:.1f} m (radius {1 / abs(route.curvature[worst]):.0f} m)'
    assert np.hypot(*np.diff(route.xy, axis=0).T).max() <= MAX_SAMPLE_GAP_M
    area = lane_map.drivable_area()
    assert shapely.contains_xy(area, route.xy[:, 0], route.xy[:, 1]).all()


def _farthest_m(a, b):
    """Largest distance from a point of line a (every 0.25 m) to line b [m]."""
    return shapely.distance(b, shapely.points(shapely.get_coordinates(shapely.segmentize(a, 0.25)))).max()


def test_edges_along_a_driverless_lane_follow_its_centreline(lane_map):
    """An edge between two nodes of the same driverless lane is that lane's centreline between them,
    bends included (not a chord cutting them)."""
    checked = 0
    for lane in _driverless(lane_map).values():
        for edge in lane_map.of_kind('route_edge'):
            ends = [lane_map.features[edge.properties[k]].geometry for k in ('from', 'to')]
            if all(lane.geometry.distance(p) < ON_LANE_TOL_M for p in ends):
                along = substring(lane.geometry, *(lane.geometry.project(p) for p in ends))
                assert max(_farthest_m(edge.geometry, along), _farthest_m(along, edge.geometry)) < ON_LANE_TOL_M, \
                    edge.id
                checked += 1
    assert checked >= 3


# --- the bending mốc 1088/2-1089 road ------------------------------------------------------------

def test_1088_road_bends_with_radii_of_150_m_or_more(map_1088):
    """Every lane turns by more than 10 deg somewhere, and no lane is tighter than 150 m."""
    for lane in map_1088.of_kind('lane'):
        headings = _headings_deg(lane.geometry.coords)
        assert np.ptp(headings) > 10.0, lane.id
        curve = Route.from_polyline(lane.id, shapely.segmentize(lane.geometry, 1.0).coords, 1.0)
        assert 1.0 / np.abs(curve.curvature).max() >= 150.0, lane.id


def _bend_vertex_gaps(line):
    """Spacing of a polyline's vertices where it bends (curvature over 1/1000 m, more than 2 m from the
    ends of a bend, where smoothing blurs it); straights may be one long segment."""
    coords = np.asarray(line.coords)
    s_vertex = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(coords, axis=0).T))])
    route = Route.from_polyline('line', shapely.segmentize(line, 1.0).coords, 1.0)
    bend = np.abs(route.curvature) > 1e-3
    margin = 8                                                  # 2 m of 0.25 m samples
    inside = np.convolve(bend, np.ones(2 * margin + 1), mode='same') >= 2 * margin + 1
    segment = np.clip(np.searchsorted(s_vertex, route.s[inside], side='right') - 1, 0, len(coords) - 2)
    return np.diff(s_vertex)[segment]


def test_1088_bends_are_drawn_densely(map_1088):
    """Lanes and route edges have a vertex at least every 1 m on their bends."""
    bent, lanes = 0, map_1088.of_kind('lane')
    for f in lanes + map_1088.of_kind('route_edge'):
        gaps = _bend_vertex_gaps(f.geometry)
        if gaps.size:
            bent += 1
            assert gaps.max() <= MAX_BEND_VERTEX_GAP_M, f'{f.id}: {gaps.max():.2f} m between vertices on a bend'
    assert bent >= len(lanes) + 2           # every lane, the yard S-curve and the U-turn at least


def test_bend_check_sees_a_coarsely_drawn_bend():
    """The density check itself: a 200 m radius arc drawn every 2 m is caught."""
    a = np.linspace(0.0, np.radians(40.0), 71)                 # 140 m of arc in 70 chords of ~2 m
    coarse = LineString(np.column_stack([200.0 * np.cos(a), 200.0 * np.sin(a)]))
    assert _bend_vertex_gaps(coarse).max() == pytest.approx(2.0, abs=0.01)


# --- the generator and bad stop lines --------------------------------------------------------------

def test_generator_redraws_both_maps_byte_for_byte(tmp_path):
    proc = subprocess.run([sys.executable, str(MAPS_DIR / 'generate_maps.py'), str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in MAPS_DIR.glob('*.geojson'))
    for drawn in tmp_path.iterdir():
        assert drawn.read_bytes() == (MAPS_DIR / drawn.name).read_bytes(), f'{drawn.name} is out of date'


def _with_stop_line(tmp_path, mutate):
    doc = json.loads((MAPS_DIR / 'moc_1088_1089.geojson').read_text(encoding='utf-8'))
    index = next(i for i, f in enumerate(doc['features']) if f['properties']['id'] == 'stop_exp_customs')
    mutate(doc['features'][index])
    path = tmp_path / 'map.geojson'
    path.write_text(json.dumps(doc), encoding='utf-8')
    return path, index


def test_stop_line_naming_an_unknown_lane_is_a_map_error(tmp_path):
    path, _ = _with_stop_line(tmp_path, lambda f: f['properties'].update(lane='export_lane_9'))
    with pytest.raises(MapError) as info:
        load_map(path)
    assert str(info.value).startswith(f'{path}: feature #')
    assert str(info.value).endswith("(stop_line 'stop_exp_customs'): lane 'export_lane_9' is not a lane")


def test_stop_line_beside_its_lane_is_a_map_error(tmp_path):
    """A stop line naming the import lane while drawn across the export lane does not cross its lane."""
    path, _ = _with_stop_line(tmp_path, lambda f: f['properties'].update(lane='import_lane_4'))
    with pytest.raises(MapError) as info:
        load_map(path)
    assert str(info.value).startswith(f'{path}: feature #')
    assert str(info.value).endswith("(stop_line 'stop_exp_customs'): does not cross its lane 'import_lane_4'")


def test_stop_line_without_a_reason_is_a_map_error(tmp_path):
    path, index = _with_stop_line(tmp_path, lambda f: f['properties'].pop('reason'))
    with pytest.raises(MapError, match=r'properties.reason missing') as info:
        load_map(path)
    assert str(info.value).startswith(f"{path}: feature #{index} (id 'stop_exp_customs'): ")


# --- yard slots --------------------------------------------------------------------------------

def test_every_crane_bay_has_yard_slots_beside_the_lane(lane_map):
    """Three 40 ft ground slots per bay, inside the bay (the crane's reach), clear of the lanes' routes."""
    bays = {f.id for f in lane_map.of_kind('crane_bay')}
    slots = lane_map.of_kind('yard_slot')
    assert {s.properties['crane_bay'] for s in slots} == bays
    for bay in bays:
        assert sum(s.properties['crane_bay'] == bay for s in slots) == 3
    for s in slots:
        rect = s.geometry.minimum_rotated_rectangle
        sides = sorted(np.hypot(*np.diff(np.asarray(rect.exterior.coords)[:3], axis=0).T))
        assert sides == pytest.approx([2.8, 12.5], abs=0.01)            # a 40 ft box with 15 cm around it
        assert min(s.geometry.distance(e.geometry) for e in lane_map.of_kind('route_edge')) > 2.0


def _with_slot(tmp_path, mutate):
    doc = json.loads((MAPS_DIR / 'moc_1119_1120.geojson').read_text(encoding='utf-8'))
    index = next(i for i, f in enumerate(doc['features']) if f['properties']['id'] == 'vn_export_cb1_slot_1')
    mutate(doc, doc['features'][index])
    path = tmp_path / 'map.geojson'
    path.write_text(json.dumps(doc), encoding='utf-8')
    return path


def test_yard_slot_of_an_unknown_bay_is_a_map_error(tmp_path):
    path = _with_slot(tmp_path, lambda doc, f: f['properties'].update(crane_bay='vn_export_cb9'))
    with pytest.raises(MapError, match=r"\(yard_slot 'vn_export_cb1_slot_1'\): crane_bay 'vn_export_cb9' is not a "
                                       r"crane_bay$"):
        load_map(path)


def test_yard_slot_on_the_lane_is_a_map_error(tmp_path):
    """Moved 5.5 m right, onto the driverless yard lane: vehicles pass there."""
    def onto_the_lane(doc, f):
        f['geometry']['coordinates'] = [[[lon + 5.5 / 103300.0, lat] for lon, lat in ring]
                                        for ring in f['geometry']['coordinates']]
    with pytest.raises(MapError, match=r"slot_1'\): is 0.00 m from route edge 'vn_exp_park_1__vn_exp_cb1_stop'"):
        load_map(_with_slot(tmp_path, onto_the_lane))


def test_yard_slot_out_of_the_cranes_reach_is_a_map_error(tmp_path):
    def far_away(doc, f):
        f['geometry']['coordinates'] = [[[lon - 0.0005, lat] for lon, lat in ring]
                                        for ring in f['geometry']['coordinates']]
    with pytest.raises(MapError, match=r"lies outside its crane bay 'vn_export_cb1'"):
        load_map(_with_slot(tmp_path, far_away))


def test_overlapping_yard_slots_are_a_map_error(tmp_path):
    def twice(doc, f):
        copy = json.loads(json.dumps(f))
        copy['properties']['id'] = 'vn_export_cb1_slot_9'
        doc['features'].append(copy)
    with pytest.raises(MapError, match=r"\(yard_slot 'vn_export_cb1_slot_1'\): overlaps feature #\d+ "
                                       r"\(yard_slot 'vn_export_cb1_slot_9'\)"):
        load_map(_with_slot(tmp_path, twice))
