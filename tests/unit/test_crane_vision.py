"""crane/vision: the target's pose under the spreader from ArUco markers, on frames rendered by MuJoCo
with known truth (no mocks), and the refusals: occluded, too few markers, glare, inconsistent, bad frame.

The scene: a vehicle deck (12.4 m x 2.5 m) with four 0.25 m markers, two at each end, and a spreader
2 m above it with a camera at each end (640x480, fovy 60 deg). The aft camera is turned 180 deg and
tilted 3 deg, to exercise a mount that is not the identity. Truth is the deck body's pose in the
spreader body's frame, read back from MuJoCo after moving the deck.
"""
import math
import os

os.environ.setdefault('MUJOCO_GL', 'egl')       # before mujoco is imported: headless rendering

import cv2  # noqa: E402
import mujoco  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from smartgate_core.crane.vision import (  # noqa: E402
    REASON_BAD_FRAME, REASON_GLARE, REASON_INCONSISTENT, REASON_OCCLUDED, REASON_OK, REASON_TOO_FEW_MARKERS,
    MarkerPlacement, SpreaderCamera, SpreaderVision, SpreaderVisionParams, TargetLayout, aruco_dictionary,
    generate_marker_png, layout_mjcf, vision_step_median_ms)

WIDTH, HEIGHT, FOVY = 640, 480, 60.0
DECK_Z, SPREADER_HEIGHT = 1.2, 2.0


def quat_mul(a, b):
    w1, x1, y1, z1 = a
    w2, x2, y2, z2 = b
    return (w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2)


def yaw_quat(yaw_rad):
    return (math.cos(0.5 * yaw_rad), 0.0, 0.0, math.sin(0.5 * yaw_rad))


DECK = TargetLayout('deck', tuple(MarkerPlacement(i, 0.25, x, y) for i, (x, y) in enumerate(
    [(5.8, 0.45), (5.8, -0.45), (-5.8, 0.45), (-5.8, -0.45)])))
FORE = SpreaderCamera('fore', (5.8, 0.0, 0.0), (1.0, 0.0, 0.0, 0.0), FOVY, WIDTH, HEIGHT)
AFT = SpreaderCamera('aft', (-5.8, 0.0, 0.0),
                     quat_mul(yaw_quat(math.pi), (math.cos(math.radians(1.5)), 0.0, math.sin(math.radians(1.5)), 0.0)),
                     FOVY, WIDTH, HEIGHT)
# a single marker for the convention test, under its own camera, away from the deck
PROBE_CAMERA = SpreaderCamera('probe', (0.0, 0.0, 0.0), (1.0, 0.0, 0.0, 0.0), FOVY, WIDTH, HEIGHT)


class Scene:
    """The deck, the spreader with its cameras, occluder boxes and a probe marker with its own camera."""

    def __init__(self, texture_dir):
        assets, geoms = layout_mjcf(DECK, texture_dir, 'deck_', face_z_m=0.0)
        probe_layout = TargetLayout('probe', (MarkerPlacement(7, 0.3, 0.0, 0.0),))
        probe_assets, probe_geoms = layout_mjcf(probe_layout, texture_dir, 'probe_', size_px=96)
        occluders = ''.join(
            f'<geom name="occluder{m.marker_id}" type="box" size="0.3 0.3 0.15" pos="{m.x_m} {m.y_m} 0.15" '
            f'rgba="0.5 0.45 0.3 1" contype="0" conaffinity="0"/>' for m in DECK.markers)
        xml = f"""<mujoco>
  <visual><global offwidth="{WIDTH}" offheight="{HEIGHT}"/>
    <headlight ambient="0.6 0.6 0.6" diffuse="0.3 0.3 0.3" specular="0 0 0"/></visual>
  <asset>{assets}{probe_assets}</asset>
  <worldbody>
    <geom type="plane" size="40 40 0.1" rgba="0.15 0.15 0.15 1"/>
    <body name="deck" pos="0 0 {DECK_Z}">
      <geom type="box" size="6.2 1.25 0.1" pos="0 0 -0.101" rgba="0.35 0.35 0.38 1"/>
      {geoms}{occluders}
    </body>
    <body name="spreader" pos="0 0 {DECK_Z + SPREADER_HEIGHT}">{FORE.mjcf()}{AFT.mjcf()}</body>
    <body name="probe_target" pos="30 0 0">{probe_geoms}</body>
    <body name="probe_rig" pos="30 0 1.5">{PROBE_CAMERA.mjcf()}</body>
  </worldbody>
</mujoco>"""
        self.model = mujoco.MjModel.from_xml_string(xml)
        self.data = mujoco.MjData(self.model)
        self.renderer = mujoco.Renderer(self.model, HEIGHT, WIDTH)
        self.deck = self.model.body('deck').id
        self.spreader = self.model.body('spreader').id

    def place_deck(self, dx_m, dy_m, yaw_rad):
        """Move the deck under the spreader; returns the truth (dx, dy, skew, height) in the spreader frame."""
        self.model.body_pos[self.deck] = [dx_m, dy_m, DECK_Z]
        self.model.body_quat[self.deck] = yaw_quat(yaw_rad)
        mujoco.mj_forward(self.model, self.data)
        return self.relative_pose(self.deck, self.spreader)

    def relative_pose(self, target, rig):
        R_rig = self.data.xmat[rig].reshape(3, 3)
        t = R_rig.T @ (self.data.xpos[target] - self.data.xpos[rig])
        R = R_rig.T @ self.data.xmat[target].reshape(3, 3)
        return t[0], t[1], math.atan2(R[1, 0], R[0, 0]), -t[2]

    def render(self, camera):
        self.renderer.update_scene(self.data, camera)
        return self.renderer.render().copy()

    def frames(self, occluders=()):
        """One frame per spreader camera, with boxes over the markers listed (the others sunk out of sight)."""
        for m in DECK.markers:
            self.model.geom_pos[self.model.geom(f'occluder{m.marker_id}').id, 2] = \
                0.15 if m.marker_id in occluders else -50.0
        mujoco.mj_forward(self.model, self.data)
        return {c.name: self.render(c.name) for c in (FORE, AFT)}


@pytest.fixture(scope='module')
def scene(tmp_path_factory):
    scene = Scene(tmp_path_factory.mktemp('markers'))
    yield scene
    scene.renderer.close()


def add_glare(image, centre_px, radius_px, amplitude=600.0):
    """A sun reflection: a bright blob that saturates the sensor at its core."""
    h, w = image.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    blob = amplitude * np.exp(-((xx - centre_px[0]) ** 2 + (yy - centre_px[1]) ** 2) / radius_px ** 2)
    return np.clip(image.astype(float) + blob[..., None], 0, 255).astype(np.uint8)


def errors(estimate, truth):
    return (abs(estimate.dx_m - truth[0]), abs(estimate.dy_m - truth[1]), abs(estimate.skew_rad - truth[2]),
            abs(estimate.height_m - truth[3]))


# seeded small offsets (the vehicle's stop error) and the large ones
_rng = np.random.default_rng(20240611)
OFFSETS = [(0.0, 0.0, 0.0), (0.2, -0.2, math.radians(2.0)), (-0.2, 0.2, math.radians(-2.0))] + [
    (float(_rng.uniform(-0.05, 0.05)), float(_rng.uniform(-0.05, 0.05)), math.radians(float(_rng.uniform(-0.5, 0.5))))
    for _ in range(4)]


# --- markers and cameras, without rendering ------------------------------------------------------

def test_generated_marker_has_a_white_quiet_zone_and_decodes(tmp_path):
    texture = generate_marker_png(23, 120, tmp_path / 'm23.png')
    image = cv2.imread(texture.path, cv2.IMREAD_GRAYSCALE)
    assert image.shape == (160, 160) and (texture.image_px, texture.marker_px) == (160, 120)
    border = np.concatenate([image[:20].ravel(), image[-20:].ravel(), image[:, :20].ravel(), image[:, -20:].ravel()])
    assert border.min() == 255                                  # quiet zone: one cell of white
    assert image[20, 20] == 0 and image[139, 139] == 0          # the marker's black border
    assert texture.plate_side_m(0.3) == pytest.approx(0.4)
    canvas = np.full((300, 300), 90, np.uint8)                  # on a grey deck
    canvas[70:230, 70:230] = image
    corners, ids, _ = cv2.aruco.ArucoDetector(aruco_dictionary()).detectMarkers(canvas)
    assert ids.ravel().tolist() == [23]
    assert np.allclose(corners[0][0][0], [90, 90], atol=1.0)    # corner 0 is the printed top-left


@pytest.mark.parametrize('marker_id, size_px, message', [
    (50, 120, 'marker_id'), (-1, 120, 'marker_id'), (3, 100, 'multiple of 6'), (3, 12, 'at least')])
def test_generate_marker_png_refuses(tmp_path, marker_id, size_px, message):
    with pytest.raises(ValueError, match=message):
        generate_marker_png(marker_id, size_px, tmp_path / 'm.png')


def test_intrinsics_from_mujoco_fovy():
    K = FORE.camera_matrix()
    f = 240.0 / math.tan(math.radians(30.0))
    assert np.allclose(K, [[f, 0, 319.5], [0, f, 239.5], [0, 0, 1]])
    # identity mount: OpenCV x = spreader x, y = -spreader y, z (forward) = -spreader z (down)
    assert np.allclose(FORE.rotation_spreader_from_cv(), np.diag([1.0, -1.0, -1.0]))
    assert FORE.mjcf() == '<camera name="fore" pos="5.800000 0.000000 0.000000" quat="1.000000000 0.000000000 ' \
                          '0.000000000 0.000000000" fovy="60"/>'


def test_layout_is_checked():
    with pytest.raises(ValueError, match='repeats'):
        TargetLayout('x', (MarkerPlacement(1, 0.2, 0, 0), MarkerPlacement(1, 0.2, 1, 0)))
    with pytest.raises(ValueError, match='not in DICT_4X4_50'):
        TargetLayout('x', (MarkerPlacement(60, 0.2, 0, 0),))
    with pytest.raises(ValueError, match='side_m'):
        TargetLayout('x', (MarkerPlacement(1, 0.0, 0, 0),))
    with pytest.raises(ValueError, match='no markers'):
        TargetLayout('x', ())


# --- MuJoCo conventions ---------------------------------------------------------------------------

@pytest.mark.parametrize('yaw_deg', [0.0, 90.0, 180.0, -90.0, 30.0])
def test_texture_orientation_and_camera_model(scene, yaw_deg):
    """A marker box turned by yaw decodes to its id, and its detected corners, in ArUco order, land
    where the layout's corners project through the MuJoCo-derived intrinsics (to a fraction of a pixel):
    the texture is neither mirrored nor rotated, and the camera model and frame conversion are right."""
    probe = scene.model.body('probe_target').id
    scene.model.body_quat[probe] = yaw_quat(math.radians(yaw_deg))
    mujoco.mj_forward(scene.model, scene.data)
    image = scene.render('probe')
    vision = SpreaderVision([PROBE_CAMERA])
    detections = vision.detect(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
    assert [i for i, _ in detections] == [7]
    x, y, _, height = scene.relative_pose(probe, scene.model.body('probe_rig').id)
    placement = MarkerPlacement(7, 0.3, 0.0, 0.0, math.radians(yaw_deg))
    points = placement.corners() + [x, y, -height]          # in the camera rig's frame
    R = PROBE_CAMERA.rotation_spreader_from_cv()
    projected, _ = cv2.projectPoints(points @ R, np.zeros(3), np.zeros(3), PROBE_CAMERA.camera_matrix(), None)
    assert np.abs(detections[0][1] - projected.reshape(4, 2)).max() < 0.3


# --- accuracy on rendered frames ------------------------------------------------------------------

@pytest.mark.parametrize('offset', OFFSETS, ids=[f'dx{o[0]:+.3f}_dy{o[1]:+.3f}_yaw{math.degrees(o[2]):+.2f}deg'
                                                 for o in OFFSETS])
def test_two_cameras_recover_the_pose(scene, offset):
    truth = scene.place_deck(*offset)
    estimate = SpreaderVision([FORE, AFT]).estimate(scene.frames(), DECK)
    assert estimate.ok, estimate.detail
    assert estimate.reason == REASON_OK and estimate.markers_used == (0, 1, 2, 3)
    assert estimate.cameras_used == ('fore', 'aft') and estimate.markers_not_seen == ()
    dx, dy, skew, height = errors(estimate, truth)
    assert dx <= 0.005 and dy <= 0.005, (dx, dy)
    assert skew <= math.radians(0.1), math.degrees(skew)
    assert height <= 0.01 and estimate.tilt_rad < math.radians(0.2)
    assert estimate.reprojection_error_px < 0.5


def test_two_cameras_give_a_better_skew_than_one(scene):
    """One camera sees a marker pair 0.9 m apart; two see markers 11.6 m apart. Both within 0.1 deg,
    two by far the better (skew, and dx/dy at the deck centre, 5.8 m from one camera's markers)."""
    one, two = SpreaderVision([FORE]), SpreaderVision([FORE, AFT])
    skew_errors = {1: [], 2: []}
    for offset in OFFSETS:
        truth = scene.place_deck(*offset)
        frames = scene.frames()
        for n, vision, given in [(1, one, {'fore': frames['fore']}), (2, two, frames)]:
            estimate = vision.estimate(given, DECK)
            assert estimate.ok, estimate.detail
            dx, dy, skew, _ = errors(estimate, truth)
            skew_errors[n].append(skew)
            assert skew <= math.radians(0.1)
            assert dx <= 0.01 and dy <= 0.01
    mean_one, mean_two = np.mean(skew_errors[1]), np.mean(skew_errors[2])
    print(f'mean |skew error|: one camera {math.degrees(mean_one):.4f} deg, two {math.degrees(mean_two):.4f} deg')
    assert mean_two < 0.5 * mean_one


def test_vision_step_cost(scene):
    scene.place_deck(0.03, -0.02, math.radians(0.3))
    frames = scene.frames()
    ms = vision_step_median_ms(SpreaderVision([FORE, AFT]), frames, DECK, repeats=5)
    print(f'vision_step_median_ms (2 cameras, 640x480): {ms:.1f}')
    assert 0.0 < ms < 200.0


# --- refusals -------------------------------------------------------------------------------------

def test_an_occluded_marker_with_enough_others_is_reported_not_fatal(scene):
    truth = scene.place_deck(0.04, -0.03, math.radians(0.4))
    estimate = SpreaderVision([FORE, AFT]).estimate(scene.frames(occluders=(2,)), DECK)
    assert estimate.ok and estimate.markers_used == (0, 1, 3) and estimate.markers_not_seen == (2,)
    dx, dy, skew, _ = errors(estimate, truth)
    assert dx <= 0.005 and dy <= 0.005 and skew <= math.radians(0.1)


def test_occluded_markers_are_refused(scene):
    scene.place_deck(0.04, -0.03, math.radians(0.4))
    one = SpreaderVision([FORE])
    frames = scene.frames(occluders=(0, 1))
    estimate = one.estimate({'fore': frames['fore']}, DECK)
    assert not estimate.ok and estimate.reason == REASON_OCCLUDED
    assert "no marker of target 'deck' (ids 0, 1, 2, 3) seen by camera 'fore'" in estimate.detail
    assert math.isnan(estimate.dx_m) and math.isnan(estimate.skew_rad)
    # both cameras blind: the same
    assert SpreaderVision([FORE, AFT]).estimate(scene.frames(occluders=(0, 1, 2, 3)), DECK).reason == REASON_OCCLUDED
    # one of the pair covered: a single marker is too few for one camera
    frames = scene.frames(occluders=(1,))
    estimate = one.estimate({'fore': frames['fore']}, DECK)
    assert estimate.reason == REASON_TOO_FEW_MARKERS and estimate.markers_used == (0,)
    assert 'only marker(s) 0' in estimate.detail and '4 corners' in estimate.detail and 'not seen: 1, 2, 3' in \
        estimate.detail
    assert math.isnan(estimate.dy_m)


def test_markers_of_another_target_are_not_used(scene):
    scene.place_deck(0.0, 0.0, 0.0)
    roof = TargetLayout('roof', tuple(MarkerPlacement(10 + i, 0.25, x, 0.0) for i, x in enumerate([5.8, -5.8])))
    estimate = SpreaderVision([FORE, AFT]).estimate(scene.frames(), roof)
    assert estimate.reason == REASON_OCCLUDED and "target 'roof' (ids 10, 11)" in estimate.detail


def test_glare_over_the_markers_is_refused(scene):
    scene.place_deck(0.02, 0.01, math.radians(0.2))
    frames = scene.frames()
    one = SpreaderVision([FORE])
    centres = [c.mean(axis=0) for _, c in one.detect(cv2.cvtColor(frames['fore'], cv2.COLOR_RGB2GRAY))]
    glared = add_glare(frames['fore'], np.mean(centres, axis=0), 130.0)       # one blob over both markers
    estimate = one.estimate({'fore': glared}, DECK)
    assert not estimate.ok and estimate.reason == REASON_GLARE
    assert "camera 'fore'" in estimate.detail and 'saturated' in estimate.detail
    # a washed-out frame (contrast squeezed to ~25 grey levels): the markers are found but not trusted
    washed = (215.0 + 0.1 * frames['fore']).astype(np.uint8)
    estimate = one.estimate({'fore': washed}, DECK)
    assert estimate.reason == REASON_GLARE and 'contrast' in estimate.detail


def test_glare_on_a_detected_marker_drops_it(scene):
    """A reflection on a marker's quiet zone: still decoded, but its corners are not trusted."""
    truth = scene.place_deck(0.01, 0.01, math.radians(0.2))
    frames = scene.frames()
    two = SpreaderVision([FORE, AFT])
    marker0 = dict(two.detect(cv2.cvtColor(frames['fore'], cv2.COLOR_RGB2GRAY)))[0]
    frames['fore'] = add_glare(frames['fore'], marker0.mean(axis=0) + 40.0, 20.0)
    estimate = two.estimate(frames, DECK)
    assert estimate.ok and estimate.markers_used == (1, 2, 3) and estimate.markers_not_seen == (0,)
    assert len(estimate.glare) == 1 and estimate.glare[0].startswith("marker 0 in camera 'fore'")
    dx, dy, skew, _ = errors(estimate, truth)
    assert dx <= 0.005 and dy <= 0.005 and skew <= math.radians(0.1)


def test_a_marker_that_moved_makes_the_markers_disagree(scene):
    """The layout says marker 1 is 5 cm from where it is on the deck: the fused pose cannot explain it."""
    scene.place_deck(0.02, -0.01, math.radians(0.3))
    wrong = TargetLayout('deck', tuple(MarkerPlacement(m.marker_id, m.side_m, m.x_m + (0.05 if m.marker_id == 1 else 0),
                                                       m.y_m) for m in DECK.markers))
    for cameras in ([FORE, AFT], [FORE]):
        frames = scene.frames()
        given = {c.name: frames[c.name] for c in cameras}
        estimate = SpreaderVision(cameras).estimate(given, wrong)
        assert not estimate.ok and estimate.reason == REASON_INCONSISTENT, estimate.detail
        assert 'disagrees' in estimate.detail and math.isnan(estimate.dx_m)
        assert estimate.reprojection_error_px > 0.8


def test_tight_thresholds_refuse_rather_than_pass(scene):
    """The residual thresholds are what they say: set below the rendering's own noise, a good view is refused."""
    scene.place_deck(0.0, 0.0, 0.0)
    strict = SpreaderVisionParams(max_reprojection_rms_px=0.01)
    estimate = SpreaderVision([FORE, AFT], strict).estimate(scene.frames(), DECK)
    assert estimate.reason == REASON_INCONSISTENT and 'reprojection rms' in estimate.detail
    low = SpreaderVisionParams(max_height_m=1.5)
    assert 'height 2.00 m outside' in SpreaderVision([FORE, AFT], low).estimate(scene.frames(), DECK).detail


@pytest.fixture(scope='module')
def good_frames(scene):
    scene.place_deck(0.0, 0.0, 0.0)
    return scene.frames()


@pytest.mark.parametrize('bad, message', [
    (None, 'no frame'),
    ('not an image', 'not an image array (str)'),
    (np.zeros((0, 0, 3), np.uint8), 'empty frame'),
    (np.zeros((HEIGHT, WIDTH, 3), np.uint8), 'all black (mean grey level 0.0)'),
    (np.full((HEIGHT, WIDTH), 128, np.uint8), 'blank'),
    (np.full((WIDTH, HEIGHT, 3), 128, np.uint8), "shape (640, 480) does not match the camera's (480, 640)"),
    (np.full((240, 320, 3), 128, np.uint8), "does not match the camera's"),
    (np.full((HEIGHT, WIDTH, 4), 128, np.uint8), 'expected (height, width) or (height, width, 3)'),
    (np.full((HEIGHT, WIDTH, 3), np.nan), '921600 NaN or infinite values'),
    (np.full((HEIGHT, WIDTH, 3), 0.5), 'dtype float64: expected uint8'),
    (np.full((HEIGHT, WIDTH, 3), 128, np.uint16), 'dtype uint16: expected uint8'),
])
def test_bad_frames_are_refused(good_frames, bad, message):
    frames = dict(good_frames)
    frames['aft'] = bad
    estimate = SpreaderVision([FORE, AFT]).estimate(frames, DECK)
    assert not estimate.ok and estimate.reason == REASON_BAD_FRAME
    assert estimate.detail.startswith("camera 'aft': ") and message in estimate.detail, estimate.detail


def test_a_nan_pixel_in_a_real_frame_is_refused(good_frames):
    frame = good_frames['fore'].astype(float)
    frame[100, 100, 1] = np.nan
    estimate = SpreaderVision([FORE, AFT]).estimate({'fore': frame, 'aft': good_frames['aft']}, DECK)
    assert estimate.reason == REASON_BAD_FRAME and '1 NaN or infinite values' in estimate.detail


def test_a_missing_camera_is_refused_and_an_unknown_one_is_an_error(good_frames):
    estimate = SpreaderVision([FORE, AFT]).estimate({'fore': good_frames['fore']}, DECK)
    assert estimate.reason == REASON_BAD_FRAME and estimate.detail == "camera 'aft': no frame"
    with pytest.raises(ValueError, match='unknown cameras'):
        SpreaderVision([FORE]).estimate(good_frames, DECK)
    assert SpreaderVision([FORE]).estimate({'fore': good_frames['fore']}, DECK).ok
    grey = cv2.cvtColor(good_frames['fore'], cv2.COLOR_RGB2GRAY)            # grey frames work too
    assert SpreaderVision([FORE]).estimate({'fore': grey}, DECK).ok
    bgr_view = good_frames['fore'][:, :, ::-1]                               # a non-contiguous view
    assert SpreaderVision([FORE]).estimate({'fore': bgr_view}, DECK).ok


def test_a_marker_seen_twice_by_one_camera_is_refused(good_frames):
    """A second copy of marker 0 in view (a spare sticker, a reflection): which one is real is a guess."""
    frame = good_frames['fore'].copy()
    one = SpreaderVision([FORE])
    corners = dict(one.detect(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)))[0]
    (x0, y0), (x1, y1) = np.floor(corners.min(axis=0)).astype(int) - 8, np.ceil(corners.max(axis=0)).astype(int) + 8
    frame[y0:y1, x0 - 150:x1 - 150] = frame[y0:y1, x0:x1]
    estimate = one.estimate({'fore': frame}, DECK)
    assert estimate.reason == REASON_INCONSISTENT and estimate.detail == "marker 0 seen twice by camera 'fore'"
