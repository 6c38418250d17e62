"""The lane map of a smart-lane road: GeoJSON in WGS 84 -> shapely geometry in the map frame.

Schema (every feature has `properties.kind` and `properties.id`; coordinates are [lon, lat]):
  lane             LineString centreline in the direction of travel; direction export|import,
                   index (1 = next to the median), driverless (bool), width_m
  yard             Polygon; side VN|CN
  crane_bay        Polygon; stop_node (route_node id)
  customs_checkpoint Polygon; side VN|CN
  border_line      LineString (km 0)
  handover_point   Point; node (route_node id)
  stop_line        LineString across a lane, where vehicles on that lane stop when required; lane
                   (id of the lane feature it crosses), reason (e.g. customs_checkpoint|handover|crane_bay)
  speed_zone       Polygon; max_speed_mps
  route_node       Point; role start|waypoint|crane_bay_stop|handover_stop
  route_edge       LineString from node `from` to node `to`; max_speed_mps
  route            geometry null; node_ids [..] (consecutive pairs must be route_edges)
  gnss_outage_zone Polygon where the sky is blocked (canopies, crane portals); cause (text)
  multipath_zone   Polygon where GNSS is reflected (stacks, cranes): RTK float and jumps; cause
  yard_slot        Polygon, the ground footprint of a container slot; crane_bay (id of the crane_bay whose
                   crane serves it: the slot lies inside that bay and clear of every route edge)
The collection's `properties` carry `datum` {latitude_deg, longitude_deg, height_m} (origin of the
map frame) and `illustrative` (true: these maps are drawn for the pilot, not surveyed).
"""
from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon, shape

from .geodesy import MapDatum
from .route import PathError, Route, validate_path

KINDS = {
    'lane': 'LineString', 'yard': 'Polygon', 'crane_bay': 'Polygon',
    'customs_checkpoint': 'Polygon', 'border_line': 'LineString', 'handover_point': 'Point',
    'speed_zone': 'Polygon', 'route_node': 'Point', 'route_edge': 'LineString', 'route': None,
    'stop_line': 'LineString', 'gnss_outage_zone': 'Polygon', 'multipath_zone': 'Polygon',
    'yard_slot': 'Polygon',
}
REQUIRED_PROPS = {
    'lane': {'direction': str, 'index': int, 'driverless': bool, 'width_m': (int, float)},
    'yard': {'side': str},
    'crane_bay': {'stop_node': str},
    'customs_checkpoint': {'side': str},
    'handover_point': {'node': str},
    'speed_zone': {'max_speed_mps': (int, float)},
    'route_node': {'role': str},
    'route_edge': {'from': str, 'to': str, 'max_speed_mps': (int, float)},
    'route': {'node_ids': list},
    'stop_line': {'lane': str, 'reason': str},
    'yard_slot': {'crane_bay': str},
}
EDGE_SNAP_TOLERANCE_M = 0.05   # an edge must start/end this close to its nodes [m]
EDGE_DENSIFY_M = 1.0           # edges are densified to this vertex spacing before resampling [m]
SLOT_CLEARANCE_M = 2.0         # a yard slot keeps this far from every route edge (half a vehicle and more) [m]


class MapError(ValueError):
    """A map file that cannot be used; the message names the file and the feature."""


class UnknownRouteError(KeyError):
    """A route id the map does not define."""

    def __str__(self):
        return self.args[0]


@dataclass
class MapFeature:
    kind: str
    id: str
    geometry: object          # shapely geometry in the map frame, or None
    properties: dict
    index: int = -1           # position in the file's feature list

    @property
    def label(self):
        return f"feature #{self.index} ({self.kind} '{self.id}')"


@dataclass
class LaneMap:
    """A validated lane map in the map frame."""

    name: str
    source: Path
    datum: MapDatum
    features: dict = field(default_factory=dict)     # id -> MapFeature

    def of_kind(self, kind):
        return [f for f in self.features.values() if f.kind == kind]

    @property
    def route_ids(self):
        return sorted(f.id for f in self.of_kind('route'))

    def drivable_area(self, margin_m=2.0):
        """Union of lanes (buffered by half their width) and yards, grown by margin_m."""
        parts = [f.geometry.buffer(f.properties['width_m'] / 2.0 + margin_m, cap_style='flat')
                 for f in self.of_kind('lane')]
        parts += [f.geometry.buffer(margin_m) for f in self.of_kind('yard')]
        parts += [f.geometry.buffer(margin_m) for f in self.of_kind('route_edge')]
        return shapely.union_all(parts)

    def speed_limit_at(self, xy, default_mps):
        """Lowest speed-zone limit at each point (default where no zone applies)."""
        xy = np.atleast_2d(xy)
        limit = np.full(len(xy), float(default_mps))
        for zone in self.of_kind('speed_zone'):
            inside = shapely.intersects_xy(zone.geometry, xy[:, 0], xy[:, 1])      # the boundary is in
            limit[inside] = np.minimum(limit[inside], zone.properties['max_speed_mps'])
        return limit

    def route(self, route_id) -> Route:
        """The route `route_id` resampled, with edge and zone speed limits applied."""
        feature = self.features.get(route_id)
        if feature is None or feature.kind != 'route':
            raise UnknownRouteError(
                f"unknown route id '{route_id}' in map {self.source.name}; known: {', '.join(self.route_ids)}")
        nodes = feature.properties['node_ids']
        edges = {(e.properties['from'], e.properties['to']): e for e in self.of_kind('route_edge')}
        pts, limits = [], []
        for a, b in zip(nodes, nodes[1:]):
            edge = edges[(a, b)]
            line = shapely.segmentize(edge.geometry, EDGE_DENSIFY_M)
            coords = np.asarray(line.coords)[:, :2]
            if pts:                 # the junction vertex starts the next edge, so it takes its limit
                pts.pop()
                limits.pop()
            pts.extend(coords)
            limits.extend([edge.properties['max_speed_mps']] * len(coords))
        route = Route.from_polyline(route_id, np.asarray(pts), np.asarray(limits), nodes, nodes[-1])
        # zones apply wherever a resampled point lies, not only at the input vertices
        route.speed_limit_mps = np.minimum(route.speed_limit_mps, self.speed_limit_at(route.xy, np.inf))
        return route

    def gnb_sites(self, path):
        """5G gNB sites of this map from a sites file (YAML, WGS 84), as {id: (x, y, z)} in the map frame."""
        import yaml
        path = Path(path)
        try:
            doc = yaml.safe_load(path.read_text(encoding='utf-8'))
        except (OSError, yaml.YAMLError) as exc:
            raise MapError(f'{path}: cannot read gNB sites ({exc})') from None
        entries = doc.get(self.source.stem) if isinstance(doc, dict) else None
        if not isinstance(entries, dict) or not entries:
            raise MapError(f"{path}: no gNB sites for map '{self.source.stem}'")
        sites = {}
        for site, e in entries.items():
            try:
                lat, lon, h = (float(e[k]) for k in ('latitude_deg', 'longitude_deg', 'height_m'))
            except (KeyError, TypeError, ValueError):
                raise MapError(f"{path}: {self.source.stem}.{site} needs latitude_deg, longitude_deg, height_m") from None
            if not (math.isfinite(lat) and math.isfinite(lon) and math.isfinite(h)):
                raise MapError(f'{path}: {self.source.stem}.{site} has non-finite coordinates')
            if abs(lat) > 90.0 or abs(lon) > 180.0:
                raise MapError(f'{path}: {self.source.stem}.{site} has latitude/longitude out of range')
            x, y, z = self.datum.to_map(lat, lon, h)
            sites[str(site)] = (float(x), float(y), float(z))
        return sites

    def stop_pose(self, node_id):
        """(x, y) of a route node."""
        p = self.features[node_id].geometry
        return float(p.x), float(p.y)

    def check_path(self, points_xy, what='path') -> np.ndarray:
        """Validate an explicit path: finite, no jumps, and every point on the drivable area."""
        pts = validate_path(points_xy, what)
        area = self.drivable_area()
        off = np.flatnonzero(~shapely.contains_xy(area, pts[:, 0], pts[:, 1]))
        if off.size:
            i = int(off[0])
            raise PathError(f'{what}: point {i} ({pts[i, 0]:.1f}, {pts[i, 1]:.1f}) is off the map '
                            f'{self.source.name}')
        return pts


def load_map(path) -> LaneMap:
    """Load and validate a lane map; raise MapError naming the file and the bad feature."""
    path = Path(path)
    where = str(path)
    try:
        doc = json.loads(path.read_text(encoding='utf-8'))
    except FileNotFoundError:
        raise MapError(f'{where}: map file not found') from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MapError(f'{where}: cannot read map file ({exc})') from None
    except json.JSONDecodeError as exc:
        raise MapError(f'{where}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})') from None
    if not isinstance(doc, dict) or doc.get('type') != 'FeatureCollection':
        raise MapError(f'{where}: top level must be a GeoJSON FeatureCollection')
    props = doc.get('properties') or {}
    if props.get('illustrative') is not True and props.get('surveyed') is not True:
        raise MapError(f"{where}: properties must say 'illustrative': true (or 'surveyed': true)")
    try:
        d = props['datum']
        datum = MapDatum(float(d['latitude_deg']), float(d['longitude_deg']), float(d.get('height_m', 0.0)))
    except (KeyError, TypeError, ValueError) as exc:
        raise MapError(f'{where}: properties.datum must give latitude_deg, longitude_deg, height_m ({exc})') from None
    lane_map = LaneMap(str(props.get('name', path.stem)), path, datum)
    features = doc.get('features')
    if not isinstance(features, list) or not features:
        raise MapError(f'{where}: features must be a non-empty list')
    for i, raw in enumerate(features):
        feature = _parse_feature(raw, i, datum, where)
        if feature.id in lane_map.features:
            raise MapError(f"{where}: feature #{i}: duplicate id '{feature.id}'")
        lane_map.features[feature.id] = feature
    _check_references(lane_map, where)
    return lane_map


def _parse_feature(raw, i, datum, where) -> MapFeature:
    label = f'{where}: feature #{i}'
    if not isinstance(raw, dict) or raw.get('type') != 'Feature':
        raise MapError(f'{label}: not a GeoJSON Feature')
    props = raw.get('properties')
    if not isinstance(props, dict):
        raise MapError(f'{label}: properties missing')
    kind, fid = props.get('kind'), props.get('id')
    if not isinstance(fid, str) or not fid:
        raise MapError(f'{label}: properties.id must be a non-empty string')
    label = f"{label} (id '{fid}')"
    if kind not in KINDS:
        raise MapError(f"{label}: unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    for key, typ in REQUIRED_PROPS.get(kind, {}).items():
        value = props.get(key)
        if not isinstance(value, typ) or (typ != bool and isinstance(value, bool)) or \
                (isinstance(value, float) and not math.isfinite(value)):
            raise MapError(f'{label}: properties.{key} missing or of the wrong type ({value!r})')
    speed = props.get('max_speed_mps')
    if speed is not None and (not isinstance(speed, (int, float)) or isinstance(speed, bool)):
        raise MapError(f'{label}: properties.max_speed_mps must be a number, got {speed!r}')
    if speed is not None and not 0.0 < speed <= 40.0:
        raise MapError(f"{label}: properties.max_speed_mps must be in (0, 40] m/s, got {props['max_speed_mps']}")
    want = KINDS[kind]
    if want is None:
        return MapFeature(kind, fid, None, props, i)
    try:
        geo = shape(raw.get('geometry'))
    except Exception as exc:  # shapely raises several types for malformed GeoJSON
        raise MapError(f'{label}: malformed geometry ({exc})') from None
    if geo.geom_type != want:
        raise MapError(f'{label}: geometry must be {want}, got {geo.geom_type}')
    if geo.is_empty:
        raise MapError(f'{label}: geometry has no coordinates')
    geo = _to_map_frame(geo, datum, label)
    if not geo.is_valid or geo.is_empty:
        raise MapError(f'{label}: geometry is not valid ({shapely.is_valid_reason(geo)})')
    return MapFeature(kind, fid, geo, props, i)


def _to_map_frame(geo, datum, label):
    def convert(coords):
        c = np.asarray(coords, dtype=float)
        if c.ndim != 2 or c.shape[1] < 2 or not np.isfinite(c).all():
            raise MapError(f'{label}: coordinates must be finite [lon, lat] pairs')
        if (np.abs(c[:, 0]) > 180).any() or (np.abs(c[:, 1]) > 90).any():
            raise MapError(f'{label}: coordinates out of range for [lon, lat] in degrees')
        x, y, _ = datum.to_map(c[:, 1], c[:, 0])
        return np.column_stack([x, y])
    if isinstance(geo, Point):
        return Point(convert([geo.coords[0]])[0])
    if isinstance(geo, LineString):
        return LineString(convert(geo.coords))
    return Polygon(convert(geo.exterior.coords), [convert(r.coords) for r in geo.interiors])


def _check_references(lane_map: LaneMap, where):
    nodes = {f.id: f for f in lane_map.of_kind('route_node')}
    edges = {}
    for e in lane_map.of_kind('route_edge'):
        label = f'{where}: {e.label}'
        for end, node_id, coord in (('from', e.properties['from'], e.geometry.coords[0]),
                                    ('to', e.properties['to'], e.geometry.coords[-1])):
            if node_id not in nodes:
                raise MapError(f"{label}: {end} node '{node_id}' is not a route_node")
            gap = nodes[node_id].geometry.distance(Point(coord))
            if gap > EDGE_SNAP_TOLERANCE_M:
                raise MapError(f"{label}: its {end} end is {gap:.2f} m from node '{node_id}'")
        edges[(e.properties['from'], e.properties['to'])] = e
    for kind, key in (('crane_bay', 'stop_node'), ('handover_point', 'node')):
        for f in lane_map.of_kind(kind):
            if f.properties[key] not in nodes:
                raise MapError(f"{where}: {f.label}: {key} '{f.properties[key]}' is not a route_node")
    bays = {f.id: f for f in lane_map.of_kind('crane_bay')}
    slots = lane_map.of_kind('yard_slot')
    for f in slots:
        bay = bays.get(f.properties['crane_bay'])
        if bay is None:
            raise MapError(f"{where}: {f.label}: crane_bay '{f.properties['crane_bay']}' is not a crane_bay")
        if not bay.geometry.contains(f.geometry):
            raise MapError(f"{where}: {f.label}: lies outside its crane bay '{bay.id}' (beyond the crane's reach)")
        for e in edges.values():
            if f.geometry.distance(e.geometry) < SLOT_CLEARANCE_M:
                raise MapError(f"{where}: {f.label}: is {f.geometry.distance(e.geometry):.2f} m from route edge "
                               f"'{e.id}' (at least {SLOT_CLEARANCE_M} m: vehicles pass there)")
    for a, b in itertools.combinations(slots, 2):
        if a.geometry.intersection(b.geometry).area > 1e-6:
            raise MapError(f"{where}: {a.label}: overlaps {b.label}")
    lanes = {f.id: f for f in lane_map.of_kind('lane')}
    for f in lane_map.of_kind('stop_line'):
        lane = lanes.get(f.properties['lane'])
        if lane is None:
            raise MapError(f"{where}: {f.label}: lane '{f.properties['lane']}' is not a lane")
        if not f.geometry.crosses(lane.geometry):     # a line beside or along the lane stops nobody
            raise MapError(f"{where}: {f.label}: does not cross its lane '{lane.id}'")
    for r in lane_map.of_kind('route'):
        ids = r.properties['node_ids']
        if len(ids) < 2 or not all(isinstance(n, str) for n in ids):
            raise MapError(f"{where}: {r.label}: node_ids must list at least 2 node ids")
        for a, b in zip(ids, ids[1:]):
            if (a, b) not in edges:
                raise MapError(f"{where}: {r.label}: no route_edge from '{a}' to '{b}'")
        try:
            lane_map.route(r.id)
        except PathError as exc:
            raise MapError(f"{where}: {r.label}: {exc}") from None
