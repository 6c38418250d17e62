"""Draw the illustrative lane maps of the smart-lane roads and write them as GeoJSON (WGS 84).

The geometry is laid out in a local ENU frame (x east, y north, metres) at each map's datum and
converted to longitude/latitude with the project's geodesy. It follows the public descriptions of
the pilot (8 lanes: 4 export + 4 import, one of each for driverless vehicles; a closed lane of
roughly 500 m on the Vietnamese side up to km 0); it is NOT surveyed.
Run: python maps/generate_maps.py   (rewrites maps/*.geojson)
"""
import json
from pathlib import Path

import numpy as np

from smartgate_core.geodesy import MapDatum

LANE_WIDTH_M = 3.75
KMH = 1.0 / 3.6


def arc(cx, cy, r, a0, a1, step_m=1.0):
    """Points on a circle about (cx, cy) from angle a0 to a1 [rad]."""
    n = max(2, int(abs(a1 - a0) * r / step_m) + 1)
    a = np.linspace(a0, a1, n)
    return np.column_stack([cx + r * np.cos(a), cy + r * np.sin(a)])


def s_curve(x0, y0, x1, y1, heading_sign=1):
    """Two tangent arcs taking a north(+1)/south(-1)-bound path from (x0, y0) to (x1, y1)."""
    dx, dy = x1 - x0, y1 - y0
    half = np.arctan2(abs(dx), abs(dy))            # half the turn angle: tan(th/2) = dx/dy
    theta = 2.0 * half
    r = abs(dy) / (2.0 * np.sin(theta))
    sx, sy = np.sign(dx), heading_sign
    # first arc turns towards dx, second turns back; centres perpendicular to the travel direction
    c1 = (x0 + sx * r, y0)
    a0 = np.pi if sx > 0 else 0.0
    first = arc(*c1, r, a0, a0 - sx * sy * theta)
    mid = first[-1]
    c2 = (x1 - sx * r, y1)
    b0 = 0.0 if sx > 0 else np.pi
    b1 = b0 - sx * sy * theta
    second = arc(*c2, r, b1, b0)
    return np.vstack([first, second[1:]]), r, mid


class MapWriter:
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

    def write(self, path):
        doc = {'type': 'FeatureCollection', 'properties': self.props, 'features': self.features}
        Path(path).write_text(json.dumps(doc, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')


def moc_1119_1120(path):
    """Hữu Nghị main freight road: straight 8-lane road north to km 0, yards on the Vietnamese side."""
    m = MapWriter('Hữu Nghị smart lane, mốc 1119-1120', MapDatum(21.9600, 106.7020, 250.0),
                  'ILLUSTRATIVE, NOT SURVEYED: drawn from public descriptions of the pilot smart border '
                  'gate (Decision 865/QD-TTg); positions and dimensions are indicative only.')
    y_south, y_km0, y_north = -150.0, 650.0, 700.0
    for direction, sign, ys in (('export', 1, (y_south, y_north)), ('import', -1, (y_north, y_south))):
        for index in range(1, 5):
            x = sign * (index - 0.5) * LANE_WIDTH_M
            m.add('lane', f'{direction}_lane_{index}', 'LineString', [(x, ys[0]), (x, ys[1])],
                  direction=direction, index=index, driverless=index == 4, width_m=LANE_WIDTH_M)
    m.add('border_line', 'km0', 'LineString', [(-20.0, y_km0), (20.0, y_km0)],
          name='km 0, border line mốc 1119-1120')
    m.rect('yard', 'vn_export_yard', 20.0, -120.0, 140.0, 40.0, side='VN', name='Vietnamese export yard')
    m.rect('yard', 'vn_import_yard', -140.0, -120.0, -20.0, 40.0, side='VN', name='Vietnamese import yard')
    m.rect('yard', 'cn_yard', 20.0, 670.0, 140.0, 790.0, side='CN', name='Youyiguan yard (indicative)')
    m.rect('customs_checkpoint', 'vn_customs_export', 0.0, 280.0, 20.0, 320.0, side='VN')
    m.rect('customs_checkpoint', 'vn_customs_import', -20.0, 280.0, 0.0, 320.0, side='VN')
    m.rect('speed_zone', 'zone_vn_export_yard', 20.0, -130.0, 140.0, 40.0, max_speed_mps=round(15 * KMH, 3))
    m.rect('speed_zone', 'zone_vn_import_yard', -140.0, -130.0, -20.0, 40.0, max_speed_mps=round(15 * KMH, 3))
    m.rect('speed_zone', 'zone_customs', -20.0, 270.0, 20.0, 330.0, max_speed_mps=round(20 * KMH, 3))
    m.rect('speed_zone', 'zone_handover', -20.0, 600.0, 20.0, 700.0, max_speed_mps=round(15 * KMH, 3))

    lane_x = 3.5 * LANE_WIDTH_M       # driverless lanes are the kerb-side ones (index 4)
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
        m.add('route_edge', f'{a}__{b}', 'LineString', [nodes[a][0], nodes[b][0]],
              **{'from': a, 'to': b, 'max_speed_mps': round(v_kmh * KMH, 3)})

    def curve(a, b, v_kmh, heading_sign):
        pts, _, _ = s_curve(*nodes[a][0], *nodes[b][0], heading_sign)
        m.add('route_edge', f'{a}__{b}', 'LineString', pts,
              **{'from': a, 'to': b, 'max_speed_mps': round(v_kmh * KMH, 3)})

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
    m.add('handover_point', 'handover_export', 'Point', nodes['vn_exp_handover'][0], node='vn_exp_handover')
    m.add('handover_point', 'handover_import', 'Point', nodes['cn_imp_handover'][0], node='cn_imp_handover')
    routes = {
        'moc1119_export_yard_to_crane': ['vn_exp_park_1', 'vn_exp_cb1_stop'],
        'moc1119_export_crane_to_km0': ['vn_exp_cb1_stop', 'vn_exp_yard_exit', 'vn_exp_lane_entry',
                                        'vn_exp_customs', 'vn_exp_handover'],
        'moc1119_export_full': ['vn_exp_park_1', 'vn_exp_cb1_stop', 'vn_exp_yard_exit', 'vn_exp_lane_entry',
                                'vn_exp_customs', 'vn_exp_handover'],
        'moc1119_import_km0_to_crane': ['cn_imp_handover', 'vn_imp_lane_exit', 'vn_imp_yard_entry',
                                        'vn_imp_cb2_stop'],
    }
    for rid, ids in routes.items():
        m.add('route', rid, None, None, node_ids=ids)
    m.write(path)


if __name__ == '__main__':
    here = Path(__file__).resolve().parent
    moc_1119_1120(here / 'moc_1119_1120.geojson')
    print('wrote', here / 'moc_1119_1120.geojson')
