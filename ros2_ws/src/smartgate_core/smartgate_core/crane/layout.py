"""The crane bay as data: sites (yard slots, the vehicle's deck), obstacles, fiducial markers and the
spreader cameras. Poses are planar, in the crane frame; heights are above the ground.

A container's frame has its origin at the centre of its bottom face, x along its length, z up; a site's
pose is where that origin goes. The deck frame has its origin at the centre of the deck's top surface.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..params import doc

CONTAINER_WIDTH_M = 2.438
# ISO 1161: twistlock centres are 11 985 x 2 259 mm apart on a 12 192 x 2 438 mm box
CASTING_INSET_LENGTH_M = 0.207
CASTING_PITCH_WIDTH_M = 2.259


def casting_pitch_m(length_m: float) -> float:
    """Distance between the twistlock centres along a box of this length [m]."""
    return length_m - CASTING_INSET_LENGTH_M


@dataclass(frozen=True)
class Pose2D:
    x_m: float = 0.0
    y_m: float = 0.0
    yaw_rad: float = 0.0

    def compose(self, x_m: float, y_m: float) -> tuple[float, float]:
        """A point given in this pose's frame, in the parent frame [m]."""
        c, s = math.cos(self.yaw_rad), math.sin(self.yaw_rad)
        return self.x_m + c * x_m - s * y_m, self.y_m + s * x_m + c * y_m


@dataclass(frozen=True)
class Site:
    """A place a container is picked from or set down on."""

    site_id: str
    kind: str                 # 'slot' (yard ground) or 'vehicle' (a vehicle's deck at the stop point)
    pose: Pose2D              # nominal pose of the box's bottom centre there
    surface_z_m: float        # height of the surface the box stands on [m]


@dataclass(frozen=True)
class Obstacle:
    """Something the load must clear on its way: a box in a slot, a vehicle with or without a box."""

    pose: Pose2D
    length_m: float
    width_m: float
    top_z_m: float

    def footprint(self) -> np.ndarray:
        """Corners (4 x 2) of the footprint in the crane frame [m]."""
        return rectangle(self.pose, self.length_m, self.width_m)


def rectangle(pose: Pose2D, length_m: float, width_m: float) -> np.ndarray:
    hl, hw = 0.5 * length_m, 0.5 * width_m
    return np.array([pose.compose(x, y) for x, y in ((-hl, -hw), (hl, -hw), (hl, hw), (-hl, hw))])


@dataclass(frozen=True)
class BayParams:
    deck_length_m: float = doc(15.0, 'container deck of the vehicle [m]')
    deck_width_m: float = doc(3.0, 'container deck of the vehicle [m]')
    deck_height_m: float = doc(1.40, 'top of the deck above the ground [m]')
    deck_marker_x_m: tuple = doc((6.8, 3.55), 'fiducials on the deck centre line at +-x: beside a 40 ft '
                                 'box, beside a 20 ft box [m]')
    deck_marker_size_m: float = doc(0.45, 'side of a deck fiducial (the ArUco black square) [m]')
    roof_marker_inset_m: float = doc(0.4, 'roof fiducial centres this far inside each end of a box [m]')
    roof_marker_size_m: float = doc(0.4, 'side of a roof fiducial [m]')
    aruco_dictionary: str = doc('DICT_4X4_50', 'OpenCV ArUco dictionary of all fiducials (crane.vision reads it)')


@dataclass(frozen=True)
class BayLayout:
    """The bay seen from the crane: its yard slots and the deck of a vehicle at the stop point."""

    slots: tuple
    bay: BayParams = BayParams()

    def vehicle_site(self, vehicle_id: str = 'vehicle') -> Site:
        """The deck of a vehicle stopped exactly at the stop point (the nominal target)."""
        return Site(vehicle_id, 'vehicle', Pose2D(), self.bay.deck_height_m)

    def slot(self, slot_id: str) -> Site:
        for s in self.slots:
            if s.site_id == slot_id:
                return s
        raise KeyError(f'no yard slot {slot_id!r} at this bay')


def default_layout(slot_poses=((0.0, 5.0), (0.0, 8.0), (14.0, 5.0)), bay: BayParams = BayParams()) -> BayLayout:
    """Yard slots on the ground beside the lane, heading along x (ids slot_1, slot_2, ...)."""
    slots = tuple(Site(f'slot_{i + 1}', 'slot', Pose2D(x, y, 0.0), 0.0) for i, (x, y) in enumerate(slot_poses))
    return BayLayout(slots, bay)


@dataclass(frozen=True)
class Fiducial:
    """A flat square ArUco marker; pose of its centre in its frame ('deck' or a container id), its image
    top edge towards the frame's +y (OpenCV's corner order: top-left, top-right, bottom-right, bottom-left
    at (-s/2, +s/2), (+s/2, +s/2), (+s/2, -s/2), (-s/2, -s/2) in the marker's own axes)."""

    marker_id: int
    size_m: float
    frame: str
    x_m: float
    y_m: float
    z_m: float
    yaw_rad: float = 0.0

    def corners(self) -> np.ndarray:
        """Corners (4 x 3) in the marker's frame, OpenCV order [m]."""
        h = 0.5 * self.size_m
        c, s = math.cos(self.yaw_rad), math.sin(self.yaw_rad)
        local = ((-h, h), (h, h), (h, -h), (-h, -h))
        return np.array([(self.x_m + c * u - s * v, self.y_m + s * u + c * v, self.z_m) for u, v in local])


def deck_fiducials(bay: BayParams, first_id: int = 0) -> tuple:
    """Markers on the deck's centre line at both ends, where a held box does not cover them."""
    xs = [sign * x for x in bay.deck_marker_x_m for sign in (1.0, -1.0)]
    return tuple(Fiducial(first_id + i, bay.deck_marker_size_m, 'deck', x, 0.0, 0.0) for i, x in enumerate(xs))


def roof_fiducials(bay: BayParams, container_id: str, length_m: float, height_m: float, first_id: int) -> tuple:
    """Two markers on a box's roof, one near each end, where the end cameras look."""
    x = 0.5 * length_m - bay.roof_marker_inset_m
    return (Fiducial(first_id, bay.roof_marker_size_m, container_id, x, 0.0, height_m),
            Fiducial(first_id + 1, bay.roof_marker_size_m, container_id, -x, 0.0, height_m))


@dataclass(frozen=True)
class CameraParams:
    outboard_m: float = doc(0.15, 'camera outboard of the twistlock line at each end of the spreader [m]')
    mount_height_m: float = doc(0.4, 'camera above the twistlock plane [m]')
    width_px: int = doc(640, 'image width [px]')
    height_px: int = doc(480, 'image height [px]')
    fovy_rad: float = doc(1.309, 'vertical field of view, 75 deg [rad]')


@dataclass(frozen=True)
class CameraSpec:
    """A downward camera at one end of the spreader. It looks along the spreader's -z; image columns grow
    towards the spreader's +x, image rows towards its -y (a pinhole camera, no distortion)."""

    name: str
    end: int                  # +1 on the +x end beam, -1 on the -x end beam
    params: CameraParams

    def position_in_spreader(self, spreader_length_m: float) -> tuple[float, float, float]:
        """Optical centre in the spreader frame (twistlock plane, centre) for this telescope setting [m]."""
        return (self.end * (0.5 * casting_pitch_m(spreader_length_m) + self.params.outboard_m), 0.0,
                self.params.mount_height_m)

    def camera_matrix(self) -> np.ndarray:
        """OpenCV intrinsics of MuJoCo's pinhole (square pixels; the optical axis between the middle
        pixels, pixel centres at integers)."""
        p = self.params
        f = 0.5 * p.height_px / math.tan(0.5 * p.fovy_rad)
        return np.array([[f, 0.0, 0.5 * (p.width_px - 1)], [0.0, f, 0.5 * (p.height_px - 1)], [0.0, 0.0, 1.0]])


def spreader_cameras(params: CameraParams = CameraParams()) -> tuple:
    return CameraSpec('cam_fwd', 1, params), CameraSpec('cam_aft', -1, params)


@dataclass(frozen=True)
class CraneBay:
    """A crane's bay as the lane map draws it: the crane frame's pose in the map frame and the layout
    (its yard slots, ids as in the map) seen from the crane."""

    crane_id: str
    bay_id: str
    stop_node_id: str
    origin: Pose2D            # crane frame in the map frame: the deck's middle at the stop point, x along the lane
    layout: BayLayout

    def to_crane(self, x_m: float, y_m: float, yaw_rad: float = 0.0) -> Pose2D:
        """A map-frame pose in the crane frame."""
        o = self.origin
        c, s = math.cos(o.yaw_rad), math.sin(o.yaw_rad)
        dx, dy = x_m - o.x_m, y_m - o.y_m
        return Pose2D(c * dx + s * dy, -s * dx + c * dy, math.remainder(yaw_rad - o.yaw_rad, 2.0 * math.pi))

    def to_map(self, pose: Pose2D) -> Pose2D:
        """A crane-frame pose in the map frame."""
        x, y = self.origin.compose(pose.x_m, pose.y_m)
        return Pose2D(x, y, math.remainder(pose.yaw_rad + self.origin.yaw_rad, 2.0 * math.pi))

    def deck_pose(self, base_x_m: float, base_y_m: float, yaw_rad: float, deck_ahead_m: float) -> Pose2D:
        """The deck's middle of a vehicle whose base_link is at (x, y, yaw) in the map, in the crane frame."""
        return self.to_crane(base_x_m + deck_ahead_m * math.cos(yaw_rad), base_y_m + deck_ahead_m * math.sin(yaw_rad),
                             yaw_rad)


def bay_from_map(lane_map, crane_id: str, deck_ahead_m: float, bay: BayParams = BayParams()) -> CraneBay:
    """The bay of `crane_id` in a lane map: the crane frame sits at the deck's middle of a vehicle stopped
    at the bay's stop node (deck_ahead_m ahead of base_link), x along the route edge arriving there; the
    map's yard_slot features of the bay become its slots (ground level, heading along their long side,
    the one nearest the crane's x axis). Raises KeyError naming the crane when the map has no such bay."""
    bays = [f for f in lane_map.of_kind('crane_bay') if f.properties.get('crane_id') == crane_id]
    if len(bays) != 1:
        known = sorted(str(f.properties.get('crane_id')) for f in lane_map.of_kind('crane_bay'))
        raise KeyError(f"no crane bay of crane '{crane_id}' in {lane_map.source.name} (cranes: {', '.join(known)})")
    feature = bays[0]
    stop = feature.properties['stop_node']
    arriving = [e for e in lane_map.of_kind('route_edge') if e.properties['to'] == stop]
    if not arriving:
        raise KeyError(f"crane bay '{feature.id}': no route edge arrives at its stop node '{stop}'")
    (x0, y0), (x1, y1) = arriving[0].geometry.coords[-2], arriving[0].geometry.coords[-1]
    heading = math.atan2(y1 - y0, x1 - x0)
    origin = Pose2D(x1 + deck_ahead_m * math.cos(heading), y1 + deck_ahead_m * math.sin(heading), heading)
    frame = CraneBay(crane_id, feature.id, stop, origin, BayLayout((), bay))
    slots = []
    for f in sorted(lane_map.of_kind('yard_slot'), key=lambda f: f.id):
        if f.properties['crane_bay'] != feature.id:
            continue
        ring = np.asarray(f.geometry.minimum_rotated_rectangle.exterior.coords)[:4]
        sides = np.diff(np.vstack([ring, ring[:1]]), axis=0)
        long_side = sides[int(np.argmax(np.hypot(sides[:, 0], sides[:, 1])))]
        centre = frame.to_crane(float(f.geometry.centroid.x), float(f.geometry.centroid.y),
                                math.atan2(long_side[1], long_side[0]))
        yaw = math.remainder(centre.yaw_rad, math.pi)          # a slot has no front: the heading nearest +x
        slots.append(Site(f.id, 'slot', Pose2D(centre.x_m, centre.y_m, yaw), 0.0))
    return CraneBay(crane_id, feature.id, stop, origin, BayLayout(tuple(slots), bay))
