"""Map server node: the lane map as latched `visualization_msgs/MarkerArray` for RViz.

Field technicians see lanes (driverless ones in green), yards, crane bays, customs checkpoints,
the km 0 line and the route graph on `/map/markers` (transient local, so RViz gets it late).
"""
from __future__ import annotations

from geometry_msgs.msg import Point
from rclpy.node import Node
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from smartgate_common import qos
from smartgate_common.node_main import run
from smartgate_common.parameters import ConfigError, declare
from smartgate_core.lane_map import MapError, load_map

COLORS = {  # kind -> (r, g, b, a)
    'lane': (0.55, 0.55, 0.55, 0.35), 'driverless_lane': (0.1, 0.8, 0.3, 0.5), 'yard': (0.9, 0.7, 0.2, 1.0),
    'crane_bay': (0.9, 0.4, 0.1, 1.0), 'customs_checkpoint': (0.3, 0.4, 1.0, 1.0),
    'border_line': (1.0, 0.1, 0.1, 1.0), 'speed_zone': (0.8, 0.8, 0.2, 0.6), 'route_edge': (0.1, 0.9, 1.0, 0.9),
    'route_node': (1.0, 1.0, 1.0, 1.0), 'handover_point': (1.0, 0.1, 0.8, 1.0), 'stop_line': (1.0, 1.0, 1.0, 1.0),
}
OTHER = (0.7, 0.7, 0.7, 1.0)


class MapServerNode(Node):
    def __init__(self):
        super().__init__('map_server')
        map_file = declare(self, 'map_file', description='lane map GeoJSON (WGS 84)', required_type=str)
        try:
            self.lane_map = load_map(map_file)
        except MapError as exc:
            raise ConfigError(str(exc)) from None
        self.pub = self.create_publisher(MarkerArray, '/map/markers', qos.LATCHED)
        self.pub.publish(self._markers())
        self.get_logger().info(f'serving {self.lane_map.name}: {len(self.lane_map.features)} features, '
                               f'routes {", ".join(self.lane_map.route_ids)} (illustrative, not surveyed)')

    def _marker(self, ns, mid, mtype, color_key, width):
        m = Marker(ns=ns, id=mid, type=mtype, action=Marker.ADD)
        m.header.frame_id = 'map'
        m.header.stamp = self.get_clock().now().to_msg()
        m.pose.orientation.w = 1.0
        m.scale.x = m.scale.y = m.scale.z = width
        r, g, b, a = COLORS.get(color_key, OTHER)
        m.color = ColorRGBA(r=r, g=g, b=b, a=a)
        return m

    def _markers(self) -> MarkerArray:
        out = []
        for i, f in enumerate(self.lane_map.features.values()):
            if f.geometry is None:
                continue
            if f.kind == 'lane':
                key = 'driverless_lane' if f.properties['driverless'] else 'lane'
                m = self._marker('lanes', i, Marker.LINE_STRIP, key, f.properties['width_m'] - 0.3)
                coords = f.geometry.coords
            elif f.kind in ('route_node', 'handover_point'):
                m = self._marker(f.kind, i, Marker.SPHERE, f.kind, 1.5 if f.kind == 'route_node' else 2.5)
                m.pose.position.x, m.pose.position.y = f.geometry.x, f.geometry.y
                label = self._marker(f'{f.kind}_labels', i, Marker.TEXT_VIEW_FACING, 'route_node', 2.0)
                label.pose.position.x, label.pose.position.y, label.pose.position.z = f.geometry.x, f.geometry.y, 3.0
                label.text = f.id
                out += [m, label]
                continue
            else:
                width = 0.8 if f.kind == 'border_line' else 0.3
                m = self._marker(f.kind, i, Marker.LINE_STRIP, f.kind, width)
                coords = f.geometry.exterior.coords if f.geometry.geom_type == 'Polygon' else f.geometry.coords
            m.points = [Point(x=float(x), y=float(y), z=0.05) for x, y in coords]
            out.append(m)
        return MarkerArray(markers=out)


def main(args=None):
    run(MapServerNode, args)
