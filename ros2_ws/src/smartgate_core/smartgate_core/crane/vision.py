"""Spreader vision: where a vehicle deck or a container roof lies under the spreader, from the ArUco
fiducials fixed on it, seen by the spreader's downward-looking cameras.

The crane stops about 1 m above its target, takes one frame per camera and corrects the last
centimetres and tenths of a degree (the vehicle's stop error) before lowering. It lowers on a
measurement or not at all, so every way the frames can mislead (no marker seen, too few, markers
that disagree, glare, a broken frame) comes back as a refusal with its reason, never as a guess.
Failures are values, not exceptions: `SpreaderVision.estimate` returns a `TargetPose` whose `ok` is
False, `reason` one of the REASON_* constants, `detail` the why in words, and whose numbers are NaN.
Exceptions are kept for programming errors (a frame for a camera that does not exist, a bad layout).

Frames (REP 103). Spreader frame: x along the spreader's long axis, y left, z up. Target frame (a
deck or a roof): on the plane of its marker faces, x along its long axis; its `TargetLayout` gives
each marker's centre and yaw there. The result is the target's pose in the spreader frame: dx_m and
dy_m (its origin), skew_rad (its x axis against the spreader's), height_m (the spreader origin
above the marker plane).

Solve: every corner of every known marker from every camera enters one pose. A start per camera
from IPPE on its (coplanar) corners, both IPPE solutions tried against all cameras, then damped
Gauss-Newton on the reprojection error over all cameras at once, the cameras' mounts being data.
Two cameras at the spreader's ends see markers ~12 m apart, which pins the skew far better than one
camera's markers a metre apart.

Marker dictionary: DICT_4X4_50, stated once in DICTIONARY. Its 6x6-cell markers (4x4 data and a
black border) have the largest cells for a given marker size, which matters when a camera over a
held box sees the deck from 4 m; 50 ids are plenty for a few markers per deck and roof, and the
pose checks catch a misread id.

MuJoCo conventions (MuJoCo 4.0, found by rendering and tested in tests/unit/test_crane_vision.py):
- Camera frame: looks along -z, image right is +x, image up is +y; OpenCV's looks along +z, x right,
  y down, so R(mujoco camera <- OpenCV camera) = diag(1, -1, -1). A camera with identity orientation
  looks straight down its body's -z, with image up along the body's +y and right along +x.
- Intrinsics: fy = (height/2) / tan(fovy/2) with fovy the vertical field of view in degrees, fx = fy
  (square pixels), principal point ((width-1)/2, (height-1)/2) in OpenCV pixel coordinates (pixel
  centres at integers, so the optical axis passes between the two middle pixels); no distortion.
- mujoco.Renderer.render() returns RGB rows top first (already flipped from OpenGL's bottom-up).
- A 2d texture on a box geom covers each face once. On the top (+z) face, seen from above, the
  image's top row lies toward the geom's +y and its left column toward -x: neither mirrored nor
  rotated. So a marker box's local frame is the ArUco marker frame (x right, y up, z out of the
  face), corner 0 (top-left of the printed marker) at local (-s/2, +s/2), then clockwise seen from
  above. Markers are thin boxes, not planes: a plane is a collision half-space and MuJoCo allows it
  only in static bodies ("plane only allowed in static bodies"), while markers ride on vehicles
  and containers. `layout_mjcf` writes them that way.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import cv2
import numpy as np

from ..params import doc

DICTIONARY = cv2.aruco.DICT_4X4_50
DICTIONARY_SIZE = 50
MARKER_CELLS = 6               # 4 data cells plus one border cell on each side

REASON_OK = 'ok'
REASON_BAD_FRAME = 'bad_frame'              # missing, wrong shape or type, NaN, black or blank
REASON_OCCLUDED = 'occluded'                # no marker of the target seen at all
REASON_TOO_FEW_MARKERS = 'too_few_markers'  # some seen, fewer than the pose needs
REASON_GLARE = 'glare'                      # markers washed out or saturated, or lost in a saturated frame
REASON_INCONSISTENT = 'inconsistent'        # residuals, disagreeing markers, tilt or height out of bounds

R_MJCAM_FROM_CV = np.diag([1.0, -1.0, -1.0])


def aruco_dictionary():
    return cv2.aruco.getPredefinedDictionary(DICTIONARY)


# --- marker textures and layouts -------------------------------------------------------------------

@dataclass(frozen=True)
class MarkerTexture:
    path: str
    marker_id: int
    image_px: int        # side of the PNG, quiet zone included
    marker_px: int       # side of the marker itself (its black border included)

    def plate_side_m(self, side_m: float) -> float:
        """Side of the textured face that makes the marker itself `side_m` wide [m]."""
        return side_m * self.image_px / self.marker_px


def generate_marker_png(marker_id: int, size_px: int, path, quiet_zone_cells: int = 1) -> MarkerTexture:
    """Write marker `marker_id` as a grey PNG, the marker `size_px` wide (a multiple of 6, so its cells
    are whole pixels) inside a white quiet zone of `quiet_zone_cells` cells, which the detector needs
    to find the black border against a dark deck."""
    if not (isinstance(marker_id, (int, np.integer)) and 0 <= marker_id < DICTIONARY_SIZE):
        raise ValueError(f'marker_id must be in 0..{DICTIONARY_SIZE - 1} (DICT_4X4_50), got {marker_id!r}')
    if size_px < MARKER_CELLS * 4 or size_px % MARKER_CELLS:
        raise ValueError(f'size_px must be a multiple of {MARKER_CELLS} and at least {MARKER_CELLS * 4}, got {size_px}')
    if quiet_zone_cells < 1:
        raise ValueError(f'quiet_zone_cells must be at least 1, got {quiet_zone_cells}')
    border_px = quiet_zone_cells * size_px // MARKER_CELLS
    image = np.full((size_px + 2 * border_px,) * 2, 255, np.uint8)
    image[border_px:border_px + size_px, border_px:border_px + size_px] = cv2.aruco.generateImageMarker(
        aruco_dictionary(), int(marker_id), size_px, borderBits=1)
    path = os.fspath(path)
    if not cv2.imwrite(path, image):
        raise OSError(f'could not write {path}')
    return MarkerTexture(path, int(marker_id), image.shape[0], size_px)


@dataclass(frozen=True)
class MarkerPlacement:
    """One marker lying face up on a target: centre and yaw in the target frame."""
    marker_id: int
    side_m: float          # the marker's black square, quiet zone excluded [m]
    x_m: float
    y_m: float
    yaw_rad: float = 0.0   # of the marker's x axis (left to right as printed) from the target's x axis

    def corners(self) -> np.ndarray:
        """The 4 corners in the target frame (4x3), in ArUco order: top-left, top-right, bottom-right,
        bottom-left as printed, 'up' being the marker's +y."""
        h = 0.5 * self.side_m
        local = np.array([[-h, h], [h, h], [h, -h], [-h, -h]])
        c, s = math.cos(self.yaw_rad), math.sin(self.yaw_rad)
        xy = local @ np.array([[c, s], [-s, c]]) + [self.x_m, self.y_m]
        return np.column_stack([xy, np.zeros(4)])


@dataclass(frozen=True)
class TargetLayout:
    """A deck or a roof: its markers, by id (known data, surveyed once per vehicle or roof kit)."""
    name: str
    markers: tuple

    def __post_init__(self):
        object.__setattr__(self, 'markers', tuple(self.markers))
        ids = [m.marker_id for m in self.markers]
        if not ids:
            raise ValueError(f'layout {self.name!r} has no markers')
        if len(set(ids)) != len(ids):
            raise ValueError(f'layout {self.name!r} repeats a marker id: {ids}')
        for m in self.markers:
            if not 0 <= m.marker_id < DICTIONARY_SIZE:
                raise ValueError(f'layout {self.name!r}: marker id {m.marker_id} is not in DICT_4X4_50')
            if not (math.isfinite(m.side_m) and m.side_m > 0.0):
                raise ValueError(f'layout {self.name!r}: marker {m.marker_id} side_m must be positive, got {m.side_m}')
            if not all(math.isfinite(v) for v in (m.x_m, m.y_m, m.yaw_rad)):
                raise ValueError(f'layout {self.name!r}: marker {m.marker_id} pose is not finite')

    @property
    def ids(self) -> tuple:
        return tuple(m.marker_id for m in self.markers)

    def placement(self, marker_id) -> MarkerPlacement:
        return next(m for m in self.markers if m.marker_id == marker_id)


def layout_mjcf(layout: TargetLayout, texture_dir, prefix: str = '', size_px: int = 120,
                face_z_m: float = 0.0, thickness_m: float = 0.002):
    """MJCF for a layout's markers: writes their PNGs to `texture_dir` and returns (asset_xml, geom_xml),
    the geoms to go in the target's body, marker faces at body z = `face_z_m` (put them 1 mm or so above
    the deck or roof surface so the two do not z-fight). Visual only: no contacts, no mass."""
    assets, geoms = [], []
    for m in layout.markers:
        name = f'{prefix}marker{m.marker_id}'
        texture = generate_marker_png(m.marker_id, size_px,
                                      os.path.join(os.path.abspath(os.fspath(texture_dir)), f'{name}.png'))
        half = 0.5 * texture.plate_side_m(m.side_m)
        qw, qz = math.cos(0.5 * m.yaw_rad), math.sin(0.5 * m.yaw_rad)
        assets.append(f'<texture name="{name}" type="2d" file="{texture.path}"/>'
                      f'<material name="{name}" texture="{name}" specular="0" shininess="0" reflectance="0"/>')
        geoms.append(f'<geom name="{name}" type="box" size="{half:.6f} {half:.6f} {0.5 * thickness_m:.6f}" '
                     f'pos="{m.x_m:.6f} {m.y_m:.6f} {face_z_m - 0.5 * thickness_m:.6f}" '
                     f'quat="{qw:.9f} 0 0 {qz:.9f}" material="{name}" contype="0" conaffinity="0" density="0"/>')
    return '\n'.join(assets), '\n'.join(geoms)


# --- cameras ---------------------------------------------------------------------------------------

def quat_to_matrix(quat_wxyz) -> np.ndarray:
    w, x, y, z = np.asarray(quat_wxyz, float) / np.linalg.norm(quat_wxyz)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


@dataclass(frozen=True)
class SpreaderCamera:
    """A camera on the spreader: its mount as it goes into the spreader body's MJCF, and its image."""
    name: str
    pos_m: tuple                       # in the spreader frame [m]
    quat_wxyz: tuple = (1.0, 0.0, 0.0, 0.0)   # MuJoCo camera orientation in the spreader frame;
    #                                    identity looks straight down, image up = spreader +y
    fovy_deg: float = 60.0             # vertical field of view, as MuJoCo's camera fovy
    width_px: int = 640
    height_px: int = 480

    def __post_init__(self):
        if len(self.pos_m) != 3 or not all(math.isfinite(v) for v in self.pos_m):
            raise ValueError(f'camera {self.name!r}: pos_m must be 3 finite numbers, got {self.pos_m}')
        if len(self.quat_wxyz) != 4 or not all(math.isfinite(v) for v in self.quat_wxyz) \
                or math.hypot(*self.quat_wxyz) < 1e-9:
            raise ValueError(f'camera {self.name!r}: quat_wxyz must be a non-zero quaternion, got {self.quat_wxyz}')
        if not 0.0 < self.fovy_deg < 180.0:
            raise ValueError(f'camera {self.name!r}: fovy_deg must be in (0, 180), got {self.fovy_deg}')
        if self.width_px < 1 or self.height_px < 1:
            raise ValueError(f'camera {self.name!r}: image size must be positive, got {self.width_px}x{self.height_px}')

    def camera_matrix(self) -> np.ndarray:
        """OpenCV intrinsics of MuJoCo's pinhole: square pixels, principal point at the image centre."""
        f = 0.5 * self.height_px / math.tan(math.radians(0.5 * self.fovy_deg))
        return np.array([[f, 0.0, 0.5 * (self.width_px - 1)], [0.0, f, 0.5 * (self.height_px - 1)], [0, 0, 1.0]])

    def rotation_spreader_from_cv(self) -> np.ndarray:
        """Columns: the OpenCV camera axes (x right, y down, z forward) in the spreader frame."""
        return quat_to_matrix(self.quat_wxyz) @ R_MJCAM_FROM_CV

    def mjcf(self) -> str:
        """The <camera> element for the spreader body."""
        pos = ' '.join(f'{v:.6f}' for v in self.pos_m)
        quat = ' '.join(f'{v:.9f}' for v in self.quat_wxyz)
        return f'<camera name="{self.name}" pos="{pos}" quat="{quat}" fovy="{self.fovy_deg:g}"/>'


# --- the estimator ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SpreaderVisionParams:
    min_markers: int = doc(2, 'distinct target markers a pose needs (one small marker pins the skew poorly)')
    min_cameras: int = doc(1, 'cameras that must see target markers')
    max_reprojection_rms_px: float = doc(0.8, 'rms corner residual of the fused pose; above it the pose is '
                                              'refused as inconsistent [px]')
    max_marker_residual_px: float = doc(1.5, 'rms corner residual of any one marker in any one camera; above '
                                             'it the markers disagree [px]')
    max_tilt_rad: float = doc(0.1, 'tilt of the target plane against the spreader beyond which the pose is '
                                   'refused [rad]')
    min_height_m: float = doc(0.2, 'least plausible height of the spreader above the marker plane [m]')
    max_height_m: float = doc(8.0, 'greatest plausible height of the spreader above the marker plane [m]')
    saturation_level: int = doc(250, 'grey level counted as saturated [0-255]')
    max_marker_saturated_fraction: float = doc(0.01, 'share of saturated pixels over a marker and its quiet '
                                                     'zone beyond which it is not used (glare)')
    min_marker_contrast: float = doc(60.0, 'least grey-level spread (5th to 95th percentile) over a marker '
                                           'and its quiet zone [0-255]')
    marker_margin: float = doc(0.2, 'the glare check looks this share of a marker side beyond each edge '
                                    '(its quiet zone is 1/6)')
    glare_frame_fraction: float = doc(0.005, 'saturated share of a frame reported as glare when markers are '
                                             'missing')
    min_frame_mean: float = doc(3.0, 'mean grey level under which a frame is refused as black [0-255]')
    min_frame_std: float = doc(2.0, 'grey-level standard deviation under which a frame is refused as blank '
                                    '[0-255]')
    edge_margin_px: float = doc(3.0, 'a marker predicted closer than this to the image border is not '
                                     'expected to be seen [px]')


NAN = float('nan')


@dataclass(frozen=True)
class TargetPose:
    """The target's pose in the spreader frame, or a refusal (ok False, numbers NaN)."""
    ok: bool
    reason: str                        # REASON_*
    detail: str = ''                   # why, in words (also for ok: what was seen)
    dx_m: float = NAN
    dy_m: float = NAN
    skew_rad: float = NAN              # target x axis from the spreader x axis, counterclockwise [rad]
    height_m: float = NAN              # spreader origin above the marker plane [m]
    tilt_rad: float = NAN              # target plane normal against the spreader z axis [rad]
    markers_used: tuple = ()
    cameras_used: tuple = ()
    reprojection_error_px: float = NAN  # rms over all corners used [px]
    markers_not_seen: tuple = ()       # target markers that should be in view by the pose but were not used
    glare: tuple = ()                  # notes on markers dropped for glare


@dataclass
class _View:
    camera: SpreaderCamera
    saturated_fraction: float
    markers: dict = field(default_factory=dict)     # marker id -> 4x2 corners [px]


class SpreaderVision:
    """Target pose from one frame per spreader camera; no ROS, no clock, no state between calls."""

    def __init__(self, cameras: Sequence[SpreaderCamera], params: SpreaderVisionParams = SpreaderVisionParams()):
        names = [c.name for c in cameras]
        if not names or len(set(names)) != len(names):
            raise ValueError(f'need at least one camera with distinct names, got {names}')
        self.cameras = tuple(cameras)
        self.params = params
        detector_params = cv2.aruco.DetectorParameters()
        detector_params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
        self._detector = cv2.aruco.ArucoDetector(aruco_dictionary(), detector_params)
        self._K = [c.camera_matrix() for c in self.cameras]
        self._R_sc = [c.rotation_spreader_from_cv() for c in self.cameras]
        self._c_s = [np.asarray(c.pos_m, float) for c in self.cameras]

    def detect(self, gray: np.ndarray):
        """ArUco detections of a grey frame: list of (marker id, 4x2 corners [px])."""
        corners, ids, _ = self._detector.detectMarkers(gray)
        if ids is None:
            return []
        return [(int(i), c.reshape(4, 2).astype(float)) for i, c in zip(ids.ravel(), corners)]

    def estimate(self, frames: Mapping[str, np.ndarray], layout: TargetLayout) -> TargetPose:
        """The pose of `layout`'s target from `frames` (camera name -> RGB or grey uint8 image), or a
        refusal saying why. Every camera must give a frame: a dead camera is refused, not skipped."""
        unknown = set(frames) - {c.name for c in self.cameras}
        if unknown:
            raise ValueError(f'frames for unknown cameras: {sorted(unknown)}')
        p = self.params
        views, glare_notes = [], []
        for camera in self.cameras:
            gray, why = self._grey(camera, frames.get(camera.name))
            if why:
                return TargetPose(False, REASON_BAD_FRAME, f"camera '{camera.name}': {why}")
            view = _View(camera, float(np.mean(gray >= p.saturation_level)))
            for marker_id, corners in self.detect(gray):
                if marker_id not in layout.ids:
                    continue
                if marker_id in view.markers:
                    return TargetPose(False, REASON_INCONSISTENT,
                                      f"marker {marker_id} seen twice by camera '{camera.name}'")
                glare = self._marker_glare(gray, corners)
                if glare:
                    glare_notes.append(f"marker {marker_id} in camera '{camera.name}': {glare}")
                else:
                    view.markers[marker_id] = corners
            views.append(view)

        used = sorted({i for v in views for i in v.markers})
        seeing = [v for v in views if v.markers]
        if len(used) < p.min_markers or len(seeing) < p.min_cameras:
            return self._not_enough(views, used, seeing, glare_notes, layout)

        pose = self._solve(views, layout)
        if pose is None:
            return TargetPose(False, REASON_INCONSISTENT, 'no pose puts the seen markers in front of the cameras',
                              markers_used=tuple(used))
        return self._checked(views, layout, *pose, used, seeing, tuple(glare_notes))

    # --- frames and glare

    def _grey(self, camera, image):
        """(grey image, None) or (None, why the frame is refused)."""
        p = self.params
        if image is None:
            return None, 'no frame'
        if not isinstance(image, np.ndarray):
            return None, f'not an image array ({type(image).__name__})'
        if image.size == 0:
            return None, f'empty frame (shape {image.shape})'
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[:, :, 0]
        if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
            return None, f'shape {image.shape}: expected (height, width) or (height, width, 3)'
        if image.shape[:2] != (camera.height_px, camera.width_px):
            return None, (f'shape {image.shape[:2]} does not match the camera\'s '
                          f'{(camera.height_px, camera.width_px)} (height, width)')
        if image.dtype.kind == 'f' and not np.isfinite(image).all():
            return None, f'{int(np.count_nonzero(~np.isfinite(image)))} NaN or infinite values'
        if image.dtype != np.uint8:
            return None, f'dtype {image.dtype}: expected uint8'
        image = np.ascontiguousarray(image)
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
        mean, std = cv2.meanStdDev(gray)
        if mean[0, 0] < p.min_frame_mean:
            return None, f'all black (mean grey level {mean[0, 0]:.1f})'
        if std[0, 0] < p.min_frame_std:
            return None, f'blank (grey-level standard deviation {std[0, 0]:.2f})'
        return gray, None

    def _marker_glare(self, gray, corners):
        """Why a detected marker is not to be trusted (saturated or washed out), or ''."""
        p = self.params
        centre = corners.mean(axis=0)
        grown = centre + (corners - centre) * (1.0 + 2.0 * p.marker_margin)
        h, w = gray.shape
        x0, y0 = np.maximum(np.floor(grown.min(axis=0)).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(grown.max(axis=0)).astype(int) + 1, [w, h])
        roi = gray[y0:y1, x0:x1]
        mask = np.zeros(roi.shape, np.uint8)
        cv2.fillConvexPoly(mask, np.round(grown - [x0, y0]).astype(np.int32), 1)
        pixels = roi[mask.astype(bool)]
        saturated = float(np.mean(pixels >= p.saturation_level))
        if saturated > p.max_marker_saturated_fraction:
            return f'{saturated:.0%} saturated'
        low, high = np.percentile(pixels, [5.0, 95.0])
        if high - low < p.min_marker_contrast:
            return f'contrast {high - low:.0f} grey levels'
        return ''

    def _not_enough(self, views, used, seeing, glare_notes, layout):
        p = self.params
        cameras = ', '.join(f"'{v.camera.name}'" for v in views)
        glared_frames = [f"camera '{v.camera.name}' {v.saturated_fraction:.1%} saturated"
                         for v in views if v.saturated_fraction > p.glare_frame_fraction]
        need = f'need {p.min_markers} markers seen by {p.min_cameras} camera(s)'
        if glare_notes or glared_frames:
            return TargetPose(False, REASON_GLARE,
                              f"{len(used)} usable marker(s) of target '{layout.name}', {need}; glare: "
                              + '; '.join(glare_notes + glared_frames),
                              markers_used=tuple(used), glare=tuple(glare_notes))
        if not used:
            return TargetPose(False, REASON_OCCLUDED,
                              f"no marker of target '{layout.name}' (ids {', '.join(map(str, layout.ids))}) seen "
                              f'by camera {cameras}: occluded or out of view')
        missing = [i for i in layout.ids if i not in used]
        return TargetPose(False, REASON_TOO_FEW_MARKERS,
                          f"only marker(s) {', '.join(map(str, used))} of target '{layout.name}' seen "
                          f"({4 * sum(len(v.markers) for v in views)} corners, "
                          f"by {len(seeing)} camera(s)), {need}; not seen: {', '.join(map(str, missing))}",
                          markers_used=tuple(used), cameras_used=tuple(v.camera.name for v in seeing))

    # --- the pose

    def _observations(self, views, layout):
        """Per camera index: (marker ids, 4Nx3 target points, 4Nx2 image points)."""
        out = []
        for k, view in enumerate(views):
            if view.markers:
                ids = sorted(view.markers)
                obj = np.vstack([layout.placement(i).corners() for i in ids])
                img = np.vstack([view.markers[i] for i in ids])
                out.append((k, ids, obj, img))
        return out

    def _project(self, k, R, t, obj):
        """Pixels of target points `obj` in camera k for target pose (R, t) in the spreader frame, and depths."""
        p_s = obj @ R.T + t
        p_c = (p_s - self._c_s[k]) @ self._R_sc[k]
        K = self._K[k]
        z = p_c[:, 2]
        uv = np.column_stack([K[0, 0] * p_c[:, 0] / z + K[0, 2], K[1, 1] * p_c[:, 1] / z + K[1, 2]])
        return uv, z

    def _cost(self, obs, R, t):
        total = 0.0
        for k, _, obj, img in obs:
            uv, z = self._project(k, R, t, obj)
            if np.any(z <= 1e-6):
                return math.inf
            total += float(np.sum((uv - img) ** 2))
        return total

    def _solve(self, views, layout):
        obs = self._observations(views, layout)
        best, best_cost = None, math.inf
        for k, _, obj, img in obs:
            try:
                n, rvecs, tvecs, _ = cv2.solvePnPGeneric(obj, img, self._K[k], None, flags=cv2.SOLVEPNP_IPPE)
            except cv2.error:          # degenerate corners: this camera gives no start
                continue
            for rvec, tvec in zip(rvecs[:n], tvecs[:n]):
                R_ct = cv2.Rodrigues(rvec)[0]
                R = self._R_sc[k] @ R_ct
                t = self._R_sc[k] @ tvec.ravel() + self._c_s[k]
                cost = self._cost(obs, R, t)
                if cost < best_cost:
                    best, best_cost = (R, t), cost
        return None if best is None else self._refine(obs, *best, best_cost)

    def _refine(self, obs, R, t, cost):
        """Levenberg-Marquardt over all cameras; the rotation is updated on the left, R <- exp(w) R."""
        damping = 1e-3
        for _ in range(50):
            rows, residuals = [], []
            for k, _, obj, img in obs:
                q = obj @ R.T                              # target points rotated into the spreader frame
                p_c = (q + t - self._c_s[k]) @ self._R_sc[k]
                K, x, y, z = self._K[k], p_c[:, 0], p_c[:, 1], p_c[:, 2]
                residuals.append(np.column_stack([K[0, 0] * x / z + K[0, 2], K[1, 1] * y / z + K[1, 2]]) - img)
                d_uv = np.zeros((len(z), 2, 3))            # d(u, v)/d(p_c)
                d_uv[:, 0, 0] = K[0, 0] / z
                d_uv[:, 0, 2] = -K[0, 0] * x / z ** 2
                d_uv[:, 1, 1] = K[1, 1] / z
                d_uv[:, 1, 2] = -K[1, 1] * y / z ** 2
                d_uv_ds = d_uv @ self._R_sc[k].T            # d(u, v)/d(p_spreader)
                skew_q = np.zeros((len(z), 3, 3))          # d(p_spreader)/d(w) = -[q]x
                skew_q[:, 0, 1], skew_q[:, 0, 2], skew_q[:, 1, 2] = q[:, 2], -q[:, 1], q[:, 0]
                skew_q[:, 1, 0], skew_q[:, 2, 0], skew_q[:, 2, 1] = -q[:, 2], q[:, 1], -q[:, 0]
                rows.append(np.concatenate([d_uv_ds @ skew_q, d_uv_ds], axis=2).reshape(-1, 6))
            J, r = np.vstack(rows), np.concatenate(residuals).ravel()
            H, g = J.T @ J, J.T @ r
            while True:
                step = -np.linalg.solve(H + damping * np.diag(np.diag(H) + 1e-12), g)
                R_new = cv2.Rodrigues(step[:3])[0] @ R
                t_new = t + step[3:]
                new_cost = self._cost(obs, R_new, t_new)
                if new_cost <= cost:
                    R, t, cost, damping = R_new, t_new, new_cost, max(damping / 10.0, 1e-9)
                    break
                damping *= 10.0
                if damping > 1e8:
                    return R, t
            if np.linalg.norm(step) < 1e-10:
                break
        return R, t

    def _checked(self, views, layout, R, t, used, seeing, glare_notes):
        """The pose if it explains every marker, else a refusal naming what does not fit."""
        p = self.params
        obs = self._observations(views, layout)
        squares, worst = [], (0.0, None, None)
        for k, ids, obj, img in obs:
            uv, z = self._project(k, R, t, obj)
            if np.any(z <= 0.0):
                return TargetPose(False, REASON_INCONSISTENT, 'the pose puts markers behind a camera')
            err2 = np.sum((uv - img) ** 2, axis=1)
            squares.append(err2)
            for j, marker_id in enumerate(ids):
                rms = math.sqrt(float(np.mean(err2[4 * j:4 * j + 4])))
                if rms > worst[0]:
                    worst = (rms, marker_id, self.cameras[k].name)
        rms_all = math.sqrt(float(np.mean(np.concatenate(squares))))
        tilt = math.acos(min(1.0, max(-1.0, float(R[2, 2]))))
        height = -float(t[2])
        problems = []
        if rms_all > p.max_reprojection_rms_px:
            problems.append(f'reprojection rms {rms_all:.2f} px > {p.max_reprojection_rms_px} px')
        if worst[0] > p.max_marker_residual_px:
            problems.append(f"marker {worst[1]} in camera '{worst[2]}' disagrees with the others "
                            f'(rms {worst[0]:.2f} px > {p.max_marker_residual_px} px)')
        if tilt > p.max_tilt_rad:
            problems.append(f'target tilted {math.degrees(tilt):.1f} deg > {math.degrees(p.max_tilt_rad):.1f} deg')
        if not p.min_height_m <= height <= p.max_height_m:
            problems.append(f'height {height:.2f} m outside {p.min_height_m}-{p.max_height_m} m')
        cameras_used = tuple(v.camera.name for v in seeing)
        if problems:
            return TargetPose(False, REASON_INCONSISTENT, '; '.join(problems), markers_used=tuple(used),
                              cameras_used=cameras_used, reprojection_error_px=rms_all, glare=glare_notes)
        not_seen = self._expected_but_not_seen(layout, R, t, used)
        skew = math.atan2(R[1, 0], R[0, 0])
        detail = (f"{len(used)} markers ({', '.join(map(str, used))}) by camera "
                  f"{', '.join(cameras_used)}, rms {rms_all:.2f} px")
        if not_seen:
            detail += f"; in view but not used: {', '.join(map(str, not_seen))}"
        return TargetPose(True, REASON_OK, detail, float(t[0]), float(t[1]), skew, height, tilt, tuple(used),
                          cameras_used, rms_all, not_seen, glare_notes)

    def _expected_but_not_seen(self, layout, R, t, used):
        margin = self.params.edge_margin_px
        missing = []
        for m in layout.markers:
            if m.marker_id in used:
                continue
            for k, camera in enumerate(self.cameras):
                uv, z = self._project(k, R, t, m.corners())
                if np.all(z > 0) and np.all(uv >= margin) and np.all(uv[:, 0] <= camera.width_px - 1 - margin) \
                        and np.all(uv[:, 1] <= camera.height_px - 1 - margin):
                    missing.append(m.marker_id)
                    break
        return tuple(missing)


def vision_step_median_ms(vision: SpreaderVision, frames: Mapping[str, np.ndarray], layout: TargetLayout,
                          repeats: int = 7) -> float:
    """Median wall time of one estimate (detection in every frame plus the solve) [ms]."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        vision.estimate(frames, layout)
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))
