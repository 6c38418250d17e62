"""Draw the illustrative lane maps of the smart-lane roads and write them as GeoJSON (WGS 84).

The geometry is laid out in a local ENU frame (x east, y north, metres) at each map's datum and
converted to longitude/latitude with the project's geodesy. It follows the public descriptions of
the pilot (8 lanes: 4 export + 4 import, one of each for driverless vehicles; a closed lane of
roughly 500-600 m on the Vietnamese side up to km 0); it is NOT surveyed.
Run: python maps/generate_maps.py [OUT_DIR]   (writes every map; OUT_DIR defaults to maps/)
"""
import argparse
import json
from pathlib import Path

import numpy as np
from shapely.geometry import LineString, Point
from shapely.ops import substring

from smartgate_core.geodesy import MapDatum

LANE_WIDTH_M = 3.75
DRIVERLESS_OFFSET_M = 3.5 * LANE_WIDTH_M   # kerb-side lane (index 4) centreline from the median [m]
STOP_LINE_SETBACK_M = 2.0                  # a stop line lies this far before the checkpoint it guards [m]
BEND_STEP_M = 0.5                          # vertex spacing drawn on bends; offset lanes stay <= 1 m [m]
KMH = 1.0 / 3.6
# A crane's girder crosses the bay over the container: 4.5 m ahead of a stopped vehicle's base_link
# (the middle of its 15 m deck), its shadow 6 m deep along the lane. The GNSS antenna, 9.5 m ahead of
# base_link, passes under it in the last metres of the approach and re-acquires while docking.
GIRDER_AHEAD_OF_STOP_M = 4.5
GIRDER_SHADOW_M = 6.0
# Yard slots a bay's crane serves: ground slots for one 40 ft box each (12.19 x 2.44 m with 15 cm to
# spare around it), beside the lane on its left, centred (along, left) of the deck middle of a vehicle
# stopped at the bay (4.5 m ahead of base_link, under the girder); two need gantry travel, one trolley.
SLOT_LENGTH_M, SLOT_WIDTH_M = 12.5, 2.8
SLOT_CENTRES_M = ((-7.0, 5.5), (7.0, 5.5), (0.0, 8.5))


def girder_shadow(stop_xy, heading_rad, half_width_m=10.0):
    """The ring of a crane girder's GNSS shadow across the bay whose stop point is stop_xy."""
    c, s = np.cos(heading_rad), np.sin(heading_rad)
    cx, cy = stop_xy[0] + GIRDER_AHEAD_OF_STOP_M * c, stop_xy[1] + GIRDER_AHEAD_OF_STOP_M * s
    half = GIRDER_SHADOW_M / 2.0
    return [(cx + a * c - b * s, cy + a * s + b * c)
            for a, b in ((-half, -half_width_m), (half, -half_width_m), (half, half_width_m), (-half, half_width_m))]


def yard_slots(m, bay_id, stop_xy, heading_rad):
    """The ground slots of the crane bay `bay_id` whose vehicles stop at stop_xy heading heading_rad."""
    c, s = np.cos(heading_rad), np.sin(heading_rad)
    for i, (along, left) in enumerate(SLOT_CENTRES_M, start=1):
        a = GIRDER_AHEAD_OF_STOP_M + along
        cx, cy = stop_xy[0] + a * c - left * s, stop_xy[1] + a * s + left * c
        half_l, half_w = SLOT_LENGTH_M / 2.0, SLOT_WIDTH_M / 2.0
        ring = [(cx + u * c - w * s, cy + u * s + w * c)
                for u, w in ((-half_l, -half_w), (half_l, -half_w), (half_l, half_w), (-half_l, half_w))]
        m.add('yard_slot', f'{bay_id}_slot_{i}', 'Polygon', ring, crane_bay=bay_id)


def arc(cx, cy, r, a0, a1, step_m=1.0):
    """Points on a circle about (cx, cy) from angle a0 to a1 [rad]."""
    n = max(2, int(abs(a1 - a0) * r / step_m) + 1)
    a = np.linspace(a0, a1, n)
    return np.column_stack([cx + r * np.cos(a), cy + r * np.sin(a)])


def s_curve(x0, y0, x1, y1, heading_sign=1, step_m=1.0):
    """Two tangent arcs taking a north(+1)/south(-1)-bound path from (x0, y0) to (x1, y1)."""
    dx, dy = x1 - x0, y1 - y0
    half = np.arctan2(abs(dx), abs(dy))            # half the turn angle: tan(th/2) = dx/dy
    theta = 2.0 * half
    r = abs(dy) / (2.0 * np.sin(theta))
    sx, sy = np.sign(dx), heading_sign
    # first arc turns towards dx, second turns back; centres perpendicular to the travel direction
    c1 = (x0 + sx * r, y0)
    a0 = np.pi if sx > 0 else 0.0
    first = arc(*c1, r, a0, a0 - sx * sy * theta, step_m)
    mid = first[-1]
    c2 = (x1 - sx * r, y1)
    b0 = 0.0 if sx > 0 else np.pi
    b1 = b0 - sx * sy * theta
    second = arc(*c2, r, b1, b0, step_m)
    return np.vstack([first, second[1:]]), r, mid


def polyline(start_xy, heading_rad, pieces, step_m=BEND_STEP_M):
    """A path of straights ('straight', length_m) and tangent arcs ('arc', radius_m, turn_deg; left > 0)."""
    pts, h = [np.asarray(start_xy, dtype=float)], heading_rad
    for piece in pieces:
        if piece[0] == 'straight':
            pts.append(pts[-1] + piece[1] * np.array([np.cos(h), np.sin(h)]))
        else:
            r, turn = piece[1], np.radians(piece[2])
            side = np.sign(turn)
            centre = pts[-1] + side * r * np.array([-np.sin(h), np.cos(h)])   # on the inside of the turn
            a0 = h - side * np.pi / 2.0
            pts.extend(arc(*centre, r, a0, a0 + turn, step_m)[1:])
            h += turn
    return np.asarray(pts)


class Road:
    """A road centreline in the map frame; places things by station s (metres from its start) and
    lateral offset d (metres, left of the centreline positive)."""

    def __init__(self, centreline_xy):
        self.line = LineString(centreline_xy)

    def point(self, s_m, d_m=0.0):
        """(x, y) at station s_m, d_m to the left; the direction is taken over +-0.25 m so that it is
        defined at a vertex too."""
        a, b = (np.asarray(self.line.interpolate(s).coords[0]) for s in (s_m - 0.25, s_m + 0.25))
        t = (b - a) / np.hypot(*(b - a))
        return np.asarray(self.line.interpolate(s_m).coords[0]) + d_m * np.array([-t[1], t[0]])

    def lane(self, d_m, s0_m, s1_m, reverse=False):
        """Centreline of the lane at offset d_m between two stations (reversed: drawn towards s0)."""
        xy = np.asarray(substring(self.line, s0_m, s1_m).offset_curve(d_m, join_style='mitre').coords)
        return xy[::-1] if reverse else xy

    def band(self, s0_m, s1_m, d0_m, d1_m):
        """Outline of the strip between stations s0..s1 and offsets d0..d1 (a ring, not closed)."""
        return np.vstack([self.lane(d1_m, s0_m, s1_m), self.lane(d0_m, s0_m, s1_m, reverse=True)])

    def across(self, s_m, d_m, width_m=LANE_WIDTH_M):
        """A segment square to the road at station s_m, centred on offset d_m (a stop line, km 0)."""
        return [self.point(s_m, d_m - width_m / 2.0), self.point(s_m, d_m + width_m / 2.0)]


class MapWriter:
    """Collects features drawn in the map frame and writes them as GeoJSON in WGS 84."""

    def __init__(self, name, datum, notice):
        self.datum, self.features = datum, []
        self.props = {'name': name, 'illustrative': True, 'surveyed': False, 'notice': notice,
                      'crs': 'WGS 84 (EPSG:4326), [lon, lat]; map frame: local ENU at datum',
                      'datum': {'latitude_deg': datum.latitude_deg, 'longitude_deg': datum.longitude_deg,
                                'height_m': datum.height_m}}

    def _ll(self, xy):
        xy = np.atleast_2d(np.asarray(xy, dtype=float))
        lat, lon, _ = self.datum.to_geographic(xy[:, 0], xy[:, 1])
        return [[round(float(a), 9), round(float(b), 9)] for a, b in zip(lon, lat)]

    def add(self, kind, fid, geom_type, xy, **props):
        if geom_type is None:
            geometry = None
        elif geom_type == 'Point':
            geometry = {'type': 'Point', 'coordinates': self._ll(xy)[0]}
        elif geom_type == 'LineString':
            geometry = {'type': 'LineString', 'coordinates': self._ll(xy)}
        else:
            ring = self._ll(xy)
            geometry = {'type': 'Polygon', 'coordinates': [ring + [ring[0]]]}
        self.features.append({'type': 'Feature', 'geometry': geometry,
                              'properties': {'kind': kind, 'id': fid, **props}})

    def rect(self, kind, fid, x0, y0, x1, y1, **props):
        self.add(kind, fid, 'Polygon', [(x0, y0), (x1, y0), (x1, y1), (x0, y1)], **props)

    def lanes(self, centreline):
        """The 8 lanes: 4 export + 4 import, the kerb-side one (index 4) of each driverless;
        centreline(direction, index) gives each lane's points in its direction of travel."""
        for direction in ('export', 'import'):
            for index in range(1, 5):
                self.add('lane', f'{direction}_lane_{index}', 'LineString', centreline(direction, index),
                         direction=direction, index=index, driverless=index == 4, width_m=LANE_WIDTH_M)

    def edge(self, a, b, xy, v_kmh):
        self.add('route_edge', f'{a}__{b}', 'LineString', xy,
                 **{'from': a, 'to': b, 'max_speed_mps': round(v_kmh * KMH, 3)})

    def stop_lines(self, road, customs_m, handover_m):
        """Stop lines on both driverless lanes (export drives towards higher stations): before the
        customs checkpoint spanning stations customs_m = (s0, s1), and at the handover points
        handover_m = (export, import)."""
        (c0, c1), (h_exp, h_imp), d = customs_m, handover_m, DRIVERLESS_OFFSET_M
        for fid, lane, s_m, d_m, reason in (
                ('stop_exp_customs', 'export_lane_4', c0 - STOP_LINE_SETBACK_M, -d, 'customs_checkpoint'),
                ('stop_imp_customs', 'import_lane_4', c1 + STOP_LINE_SETBACK_M, d, 'customs_checkpoint'),
                ('stop_exp_handover', 'export_lane_4', h_exp, -d, 'handover'),
                ('stop_imp_handover', 'import_lane_4', h_imp, d, 'handover')):
            self.add('stop_line', fid, 'LineString', road.across(s_m, d_m), lane=lane, reason=reason)

    def routes(self, routes):
        for rid, ids in routes.items():
            self.add('route', rid, None, None, node_ids=ids)

    def write(self, path):
        doc = {'type': 'FeatureCollection', 'properties': self.props, 'features': self.features}
        Path(path).write_text(json.dumps(doc, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')


def moc_1119_1120(path):
    """Hữu Nghị main freight road: straight 8-lane road north to km 0, yards on the Vietnamese side."""
    m = MapWriter('Hữu Nghị smart lane, mốc 1119-1120', MapDatum(21.9600, 106.7020, 250.0),
                  'ILLUSTRATIVE, NOT SURVEYED: drawn from public descriptions of the pilot smart border '
                  'gate (Decision 865/QD-TTg); positions and dimensions are indicative only.')
    y_south, y_km0, y_north = -150.0, 650.0, 700.0

    def lane_xy(direction, index):
        sign = 1 if direction == 'export' else -1
        x = sign * (index - 0.5) * LANE_WIDTH_M
        return [(x, y_south), (x, y_north)][::sign]        # import lanes are drawn southbound

    m.lanes(lane_xy)
    m.add('border_line', 'km0', 'LineString', [(-20.0, y_km0), (20.0, y_km0)],
          name='km 0, border line mốc 1119-1120')
    m.rect('yard', 'vn_export_yard', 20.0, -120.0, 140.0, 40.0, side='VN', name='Vietnamese export yard')
    m.rect('yard', 'vn_import_yard', -140.0, -120.0, -20.0, 40.0, side='VN', name='Vietnamese import yard')
    m.rect('yard', 'cn_yard', 20.0, 670.0, 140.0, 790.0, side='CN', name='Youyiguan yard (indicative)')
    m.rect('customs_checkpoint', 'vn_customs_export', 0.0, 280.0, 20.0, 320.0, side='VN')
    m.rect('customs_checkpoint', 'vn_customs_import', -20.0, 280.0, 0.0, 320.0, side='VN')
    # the checkpoint canopy blocks the sky; container stacks along the export yard reflect it
    m.rect('gnss_outage_zone', 'outage_customs_canopy', -20.0, 285.0, 20.0, 315.0, cause='checkpoint canopy')
    m.rect('multipath_zone', 'multipath_export_stacks', 40.0, -20.0, 80.0, 40.0, cause='container stacks')
    m.rect('speed_zone', 'zone_vn_export_yard', 20.0, -130.0, 140.0, 40.0, max_speed_mps=round(15 * KMH, 3))
    m.rect('speed_zone', 'zone_vn_import_yard', -140.0, -130.0, -20.0, 40.0, max_speed_mps=round(15 * KMH, 3))
    m.rect('speed_zone', 'zone_customs', -20.0, 270.0, 20.0, 330.0, max_speed_mps=round(20 * KMH, 3))
    m.rect('speed_zone', 'zone_handover', -20.0, 600.0, 20.0, 700.0, max_speed_mps=round(15 * KMH, 3))

    lane_x = DRIVERLESS_OFFSET_M
    nodes = {
        'vn_exp_park_1': ((60.0, -110.0), 'start'), 'vn_exp_cb1_stop': ((60.0, -50.0), 'crane_bay_stop'),
        'vn_exp_yard_exit': ((60.0, 10.0), 'waypoint'), 'vn_exp_lane_entry': ((lane_x, 110.0), 'waypoint'),
        'vn_exp_customs': ((lane_x, 300.0), 'waypoint'), 'vn_exp_handover': ((lane_x, 630.0), 'handover_stop'),
        'cn_imp_handover': ((-lane_x, 670.0), 'start'), 'vn_imp_lane_exit': ((-lane_x, 110.0), 'waypoint'),
        'vn_imp_yard_entry': ((-60.0, 10.0), 'waypoint'), 'vn_imp_cb2_stop': ((-60.0, -50.0), 'crane_bay_stop'),
    }
    for nid, (xy, role) in nodes.items():
        m.add('route_node', nid, 'Point', xy, role=role)

    def straight(a, b, v_kmh):
        m.edge(a, b, [nodes[a][0], nodes[b][0]], v_kmh)

    def curve(a, b, v_kmh, heading_sign):
        m.edge(a, b, s_curve(*nodes[a][0], *nodes[b][0], heading_sign)[0], v_kmh)

    straight('vn_exp_park_1', 'vn_exp_cb1_stop', 15)
    straight('vn_exp_cb1_stop', 'vn_exp_yard_exit', 15)
    curve('vn_exp_yard_exit', 'vn_exp_lane_entry', 15, 1)
    straight('vn_exp_lane_entry', 'vn_exp_customs', 30)
    straight('vn_exp_customs', 'vn_exp_handover', 30)
    straight('cn_imp_handover', 'vn_imp_lane_exit', 30)
    curve('vn_imp_lane_exit', 'vn_imp_yard_entry', 15, -1)
    straight('vn_imp_yard_entry', 'vn_imp_cb2_stop', 15)
    m.add('crane_bay', 'vn_export_cb1', 'Polygon', [(50, -70), (70, -70), (70, -30), (50, -30)],
          stop_node='vn_exp_cb1_stop', crane_id='vn_asc_1')
    m.add('crane_bay', 'vn_import_cb2', 'Polygon', [(-70, -70), (-50, -70), (-50, -30), (-70, -30)],
          stop_node='vn_imp_cb2_stop', crane_id='vn_asc_2')
    m.add('gnss_outage_zone', 'outage_girder_vn_asc_1', 'Polygon', girder_shadow(nodes['vn_exp_cb1_stop'][0], np.pi / 2),
          cause='crane portal girder (vn_asc_1)')
    yard_slots(m, 'vn_export_cb1', nodes['vn_exp_cb1_stop'][0], np.pi / 2)
    yard_slots(m, 'vn_import_cb2', nodes['vn_imp_cb2_stop'][0], -np.pi / 2)
    m.add('gnss_outage_zone', 'outage_girder_vn_asc_2', 'Polygon',
          girder_shadow(nodes['vn_imp_cb2_stop'][0], -np.pi / 2), cause='crane portal girder (vn_asc_2)')
    m.add('handover_point', 'handover_export', 'Point', nodes['vn_exp_handover'][0], node='vn_exp_handover')
    m.add('handover_point', 'handover_import', 'Point', nodes['cn_imp_handover'][0], node='cn_imp_handover')
    # stations along the road are y - y_south: customs 280..320, handover points 630 (export), 670 (import)
    m.stop_lines(Road([(0.0, y_south), (0.0, y_north)]), (280.0 - y_south, 320.0 - y_south),
                 (nodes['vn_exp_handover'][0][1] - y_south, nodes['cn_imp_handover'][0][1] - y_south))
    m.routes({
        'moc1119_export_yard_to_crane': ['vn_exp_park_1', 'vn_exp_cb1_stop'],
        'moc1119_export_crane_to_km0': ['vn_exp_cb1_stop', 'vn_exp_yard_exit', 'vn_exp_lane_entry',
                                        'vn_exp_customs', 'vn_exp_handover'],
        'moc1119_export_full': ['vn_exp_park_1', 'vn_exp_cb1_stop', 'vn_exp_yard_exit', 'vn_exp_lane_entry',
                                'vn_exp_customs', 'vn_exp_handover'],
        'moc1119_import_km0_to_crane': ['cn_imp_handover', 'vn_imp_lane_exit', 'vn_imp_yard_entry',
                                        'vn_imp_cb2_stop'],
    })
    m.write(path)


def moc_1088_1089(path):
    """Tân Thanh – Pò Chài (Puzhai) lane: a bending 8-lane road from km 0 south into Bảo Nguyên yard.

    Road stations run from the yard gate (s = 0, heading north) to km 0 (s = 600 m): 120 m straight,
    a left bend (R 180 m, 35 deg), 120 m straight (customs), a right bend (R 220 m, 50 deg), then
    straight over km 0; lane radii are 167-233 m (under 0.42 m/s^2 at 30 km/h for a 15 m IGV).
    In the yard the driverless path is a one-way loop through a single crane bay, so a vehicle that
    brings an import leaves with an export: import lane -> U-turn (R 75 m) -> crane bay -> S-curve
    (R ~96 m) -> export lane. Every yard radius is >= 75 m, so even 30 km/h stays under 1 m/s^2.
    """
    m = MapWriter('Tân Thanh – Pò Chài smart lane, mốc 1088/2-1089', MapDatum(21.7950, 106.6300, 260.0),
                  'ILLUSTRATIVE, NOT SURVEYED: drawn from public descriptions of the Tân Thanh – Pò Chài '
                  '(Puzhai) smart lane (about 2.4 km; driverless trucks drive from km 0 into Bảo Nguyên '
                  'yard); the datum is a plausible point near Tân Thanh, and positions, bends and '
                  'dimensions are indicative only.')
    road = Road(polyline((0.0, 0.0), np.pi / 2, [('straight', 120.0), ('arc', 180.0, 35.0), ('straight', 120.0),
                                                  ('arc', 220.0, -50.0), ('straight', 260.0)]))
    s_km0, s_lane_end = 600.0, 650.0
    customs_m = (260.0, 300.0)                         # checkpoint on the straight between the bends [station m]
    s_customs = sum(customs_m) / 2.0
    h_exp, h_imp = s_km0 - 20.0, s_km0 + 20.0          # handover points either side of km 0 [station m]

    def lane_xy(direction, index):
        sign = -1 if direction == 'export' else 1      # right-hand traffic: export lanes right of the centreline
        return road.lane(sign * (index - 0.5) * LANE_WIDTH_M, 0.0, s_lane_end, reverse=direction == 'import')

    m.lanes(lane_xy)
    m.add('border_line', 'km0', 'LineString', road.across(s_km0, 0.0, 40.0),
          name='km 0, border line mốc 1088/2-1089')
    # the yard reaches 50 m up the kerb side of the export lane, where the S-curve from the bay joins it
    yard = [(-40.0, -310.0), (170.0, -310.0), (170.0, 50.0), (15.0, 50.0), (15.0, 0.0), (-40.0, 0.0)]
    m.add('yard', 'vn_baonguyen_yard', 'Polygon', yard, side='VN', name='Bảo Nguyên yard, Tân Thanh')
    m.add('yard', 'cn_yard', 'Polygon', road.band(s_lane_end + 10.0, s_lane_end + 130.0, -60.0, 60.0), side='CN',
          name='Pò Chài (Puzhai) yard (indicative)')
    m.add('customs_checkpoint', 'vn_customs_export', 'Polygon', road.band(*customs_m, -20.0, 0.0), side='VN')
    m.add('customs_checkpoint', 'vn_customs_import', 'Polygon', road.band(*customs_m, 0.0, 20.0), side='VN')
    m.add('gnss_outage_zone', 'outage_customs_canopy', 'Polygon', road.band(customs_m[0] + 5.0, customs_m[1] - 5.0,
                                                                             -20.0, 20.0), cause='checkpoint canopy')
    for fid, ring, v_kmh in (('zone_vn_yard', yard, 15),
                             ('zone_lane', road.band(0.0, s_lane_end, -20.0, 20.0), 30),
                             ('zone_customs', road.band(customs_m[0] - 10.0, customs_m[1] + 10.0, -20.0, 20.0), 20),
                             ('zone_handover', road.band(s_km0 - 50.0, s_lane_end, -20.0, 20.0), 15)):
        m.add('speed_zone', fid, 'Polygon', ring, max_speed_mps=round(v_kmh * KMH, 3))

    # route nodes on the driverless lanes: (direction, station [m], role); edges along a lane are cut
    # out of its centreline, so they follow it exactly, bends included
    lanes = {'export': (LineString(lane_xy('export', 4)), -DRIVERLESS_OFFSET_M),
             'import': (LineString(lane_xy('import', 4)), DRIVERLESS_OFFSET_M)}
    # (the lane entry is on the first straight, heading due north, as s_curve needs)
    on_lane = {'vn_exp_lane_entry': ('export', 50.0, 'waypoint'),
               'vn_exp_customs': ('export', s_customs, 'waypoint'),
               'vn_exp_handover': ('export', h_exp, 'handover_stop'), 'cn_imp_handover': ('import', h_imp, 'start'),
               'vn_imp_customs': ('import', s_customs, 'waypoint'), 'vn_imp_yard_gate': ('import', 0.0, 'waypoint')}
    along = {nid: lanes[direction][0].project(Point(road.point(s_m, lanes[direction][1])))
             for nid, (direction, s_m, _) in on_lane.items()}
    turn_r = 75.0                                       # yard U-turn radius [m]
    bay_x = -DRIVERLESS_OFFSET_M + 2.0 * turn_r         # the U-turn brings import vehicles onto the bay line
    nodes = {'vn_yard_wait': ((bay_x, -190.0), 'start'), 'vn_cb_stop': ((bay_x, -150.0), 'crane_bay_stop'),
             'vn_exp_yard_exit': ((bay_x, -130.0), 'waypoint')}
    nodes.update({nid: (lanes[direction][0].interpolate(along[nid]).coords[0], role)
                  for nid, (direction, _, role) in on_lane.items()})
    for nid, (xy, role) in nodes.items():
        m.add('route_node', nid, 'Point', xy, role=role)

    def lane_edge(a, b):
        lane = lanes[on_lane[a][0]][0]
        m.edge(a, b, np.asarray(substring(lane, along[a], along[b]).coords), 30)

    gate, uturn_y = nodes['vn_imp_yard_gate'][0], -220.0   # the U-turn starts at uturn_y [m]
    m.edge('vn_yard_wait', 'vn_cb_stop', [nodes['vn_yard_wait'][0], nodes['vn_cb_stop'][0]], 15)
    m.edge('vn_cb_stop', 'vn_exp_yard_exit', [nodes['vn_cb_stop'][0], nodes['vn_exp_yard_exit'][0]], 15)
    m.edge('vn_exp_yard_exit', 'vn_exp_lane_entry',
           s_curve(*nodes['vn_exp_yard_exit'][0], *nodes['vn_exp_lane_entry'][0], 1, BEND_STEP_M)[0], 15)
    lane_edge('vn_exp_lane_entry', 'vn_exp_customs')
    lane_edge('vn_exp_customs', 'vn_exp_handover')
    lane_edge('cn_imp_handover', 'vn_imp_customs')
    lane_edge('vn_imp_customs', 'vn_imp_yard_gate')
    m.edge('vn_imp_yard_gate', 'vn_yard_wait',
           polyline(gate, -np.pi / 2, [('straight', gate[1] - uturn_y), ('arc', turn_r, 180.0),
                                       ('straight', 30.0)]), 15)
    m.rect('crane_bay', 'vn_baonguyen_cb1', bay_x - 10.0, -170.0, bay_x + 10.0, -130.0,
           stop_node='vn_cb_stop', crane_id='vn_asc_1')
    m.add('gnss_outage_zone', 'outage_girder_vn_asc_1', 'Polygon', girder_shadow(nodes['vn_cb_stop'][0], np.pi / 2),
          cause='crane portal girder (vn_asc_1)')
    yard_slots(m, 'vn_baonguyen_cb1', nodes['vn_cb_stop'][0], np.pi / 2)
    m.add('handover_point', 'handover_export', 'Point', nodes['vn_exp_handover'][0], node='vn_exp_handover')
    m.add('handover_point', 'handover_import', 'Point', nodes['cn_imp_handover'][0], node='cn_imp_handover')
    m.stop_lines(road, customs_m, (h_exp, h_imp))
    export = ['vn_cb_stop', 'vn_exp_yard_exit', 'vn_exp_lane_entry', 'vn_exp_customs', 'vn_exp_handover']
    m.routes({
        'moc1088_import_km0_to_yard': ['cn_imp_handover', 'vn_imp_customs', 'vn_imp_yard_gate', 'vn_yard_wait',
                                       'vn_cb_stop'],
        'moc1088_export_yard_to_km0': export,
        'moc1088_export_full': ['vn_yard_wait'] + export,
    })
    m.write(path)


MAPS = {'moc_1119_1120.geojson': moc_1119_1120, 'moc_1088_1089.geojson': moc_1088_1089}

if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', nargs='?', type=Path, default=Path(__file__).resolve().parent,
                        help='where to write the maps (default: the maps/ folder of this script)')
    out_dir = parser.parse_args().out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, draw in MAPS.items():
        draw(out_dir / name)
        print('wrote', out_dir / name)
