"""crane.physics: the MuJoCo crane built from its parameters behaves like the crane it describes, and its
instruments report it (seeded noise, stamps, faults)."""
import math

import cv2
import numpy as np
import pytest

from smartgate_core.crane.interface import LOCK, UNLOCK, CraneCommand
from smartgate_core.crane.layout import Pose2D, default_layout
from smartgate_core.crane.params import CraneParams
from smartgate_core.crane.physics import CranePhysics, Gust, WorldContainer

CRANE = CraneParams()
LAYOUT = default_layout()


def world(boxes=(), seed=1, **kw):
    return CranePhysics(CRANE, LAYOUT, boxes, seed=seed, **kw)


def box(cid='A', x=0.0, y=5.0, z=0.0, mass=25000.0, cog=(0.0, 0.0), length=12.192):
    return WorldContainer(cid, length, 2.591, mass, Pose2D(x, y), z, cog)


@pytest.mark.parametrize('height_m', [10.0, 3.0])
def test_pendulum_period_matches_the_rope_length(height_m):
    physics = world(start_spreader_z_m=height_m)
    physics.step(1.0)
    rope = physics.truth().rope_m
    physics.data.qvel[physics.model.joint('sway_y').dofadr[0]] = 0.02
    physics.data.qvel[physics.model.joint('level_y').dofadr[0]] = -0.02
    t, y = [], []
    for _ in range(1000):
        physics.step(0.02)
        truth = physics.truth()
        t.append(truth.t_s)
        y.append(truth.sway_m[1])
    t, y = np.array(t), np.array(y)
    up = t[1:][(y[:-1] < 0) & (y[1:] >= 0)]
    assert np.diff(up).mean() == pytest.approx(2 * math.pi * math.sqrt(rope / 9.81), rel=0.02)


def lower_onto(physics, seconds=4.0):
    physics.apply(CraneCommand(hoist_mps=-0.1))
    physics.step(seconds)
    physics.apply(CraneCommand())
    physics.step(0.3)


def test_twistlocks_lock_only_when_seated():
    """10 cm beside the box the landing pins sit on its roof but the twistlocks miss the castings: no lock.
    On the castings all four lock."""
    off = world([box()], start_trolley_m=5.1, start_spreader_z_m=2.9)
    lower_onto(off)
    assert off.sensors().landed
    off.apply(CraneCommand(twistlocks=LOCK))
    off.step(1.5)
    assert off.sensors().locked == (False, False, False, False)
    on = world([box()], start_trolley_m=5.0, start_spreader_z_m=2.9)
    lower_onto(on)
    on.apply(CraneCommand(twistlocks=LOCK))
    on.step(0.5)
    assert not any(on.sensors().locked)                    # the twistlocks take their time to turn
    on.step(1.0)
    assert on.sensors().locked == (True, True, True, True)


def test_a_locked_box_follows_the_spreader_and_weighs_its_mass():
    physics = world([box(mass=18000.0, cog=(1.0, 0.2))], start_trolley_m=5.0, start_spreader_z_m=2.9)
    lower_onto(physics)
    physics.apply(CraneCommand(twistlocks=LOCK))
    physics.step(1.5)
    physics.apply(CraneCommand(hoist_mps=0.3))
    physics.step(3.0)
    physics.apply(CraneCommand(trolley_mps=-0.5))
    physics.step(4.0)
    physics.apply(CraneCommand())
    physics.step(4.0)
    truth = physics.truth()
    held = truth.containers['A']
    assert held.locked_corners == 4 and not held.supported
    assert held.z_m == pytest.approx(truth.spreader_z_m - 2.591, abs=0.02)
    assert math.hypot(held.pose.x_m - truth.spreader.x_m, held.pose.y_m - truth.spreader.y_m) < 0.01
    assert truth.spreader.y_m < 3.5
    loads = []
    for _ in range(20):
        physics.step(0.1)
        loads.append(physics.sensors().payload_kg)
    assert np.mean(loads) == pytest.approx(18000.0, rel=0.02)


def test_an_unlocked_box_stays_on_the_deck_and_rides_with_it():
    physics = world([box(x=0.0, y=0.0, z=1.4)], start_spreader_z_m=1.4 + 2.591)
    lower_onto(physics, 1.0)
    physics.apply(CraneCommand(twistlocks=UNLOCK, hoist_mps=0.5))
    physics.step(3.0)
    truth = physics.truth()
    deck_box = truth.containers['A']
    assert deck_box.supported and deck_box.locked_corners == 0
    assert deck_box.z_m == pytest.approx(1.4, abs=0.01) and truth.spreader_z_m > 4.5
    for k in range(1, 101):                         # the vehicle drives off at 0.5 m/s^2 for 2 s
        physics.set_vehicle_pose(Pose2D(0.25 * (0.02 * k) ** 2, 0.0))
        physics.step(0.02)
    truth = physics.truth()
    assert truth.deck.x_m == pytest.approx(1.0) and truth.containers['A'].pose.x_m == pytest.approx(1.0, abs=0.005)


def test_unlocking_in_the_air_drops_the_box():
    """The physics does not stop a reckless command (the interlocks must): unlock a hanging box and it falls."""
    physics = world([box()], start_trolley_m=5.0, start_spreader_z_m=6.0)
    physics.attach('A')
    physics.step(0.5)
    z0 = physics.truth().containers['A'].z_m
    physics.apply(CraneCommand(twistlocks=UNLOCK))
    physics.step(1.5)
    assert physics.truth().containers['A'].z_m < z0 - 2.0


def test_sensors_are_seeded_and_frozen_sensors_keep_their_stamp():
    a, b, c = world(seed=4), world(seed=4), world(seed=5)
    for physics in (a, b, c):
        physics.step(0.5)
    assert a.sensors() == b.sensors()
    assert a.sensors().trolley_m != c.sensors().trolley_m
    a.faults.frozen_at_s['sway'] = a.t_s
    a.step(1.0)
    stamps = a.sensors().stamps
    assert a.t_s - stamps['sway'] > 0.9 and a.t_s - stamps['encoders'] < 0.03


def test_a_gust_pushes_on_the_area_the_load_shows_it():
    """12 m/s at its peak on a 40 ft box: broadside 0.5 rho v^2 Cd A = 3.3 kN, end-on a fifth of that; in
    the physics the held box swings out downwind."""
    gust = Gust(0.0, 4.0, 12.0, 0.5 * math.pi)
    broadside = gust.force_n(2.0, 12.192, 2.438, 2.591, 0.0)
    assert broadside[1] == pytest.approx(0.5 * 1.225 * 144.0 * 1.2 * 12.192 * 2.591) and abs(broadside[0]) < 1e-9
    end_on = gust.force_n(2.0, 12.192, 2.438, 2.591, 0.5 * math.pi)
    assert np.linalg.norm(end_on) == pytest.approx(broadside[1] * 2.438 / 12.192)
    assert not gust.force_n(4.5, 12.192, 2.438, 2.591, 0.0).any()
    physics = world([box()], start_trolley_m=5.0, start_spreader_z_m=6.0)
    physics.attach('A')
    physics.add_gust(Gust(0.5, 4.0, 12.0, 0.5 * math.pi))
    physics.step(2.5)
    sway = physics.truth().sway_m
    assert sway[1] > 0.02 and abs(sway[0]) < 0.1 * sway[1]


def test_cameras_see_the_deck_fiducials_past_a_held_box():
    """A 40 ft box held 0.4 m above the deck: each end camera sees its end's outer deck marker, where the
    layout says it is (the image centre is below the camera; image columns grow with the spreader's x)."""
    physics = world([box()], start_spreader_z_m=1.4 + 0.4 + 2.591)
    physics.attach('A')
    physics.step(0.5)
    frames = physics.capture()
    dictionary = getattr(cv2.aruco, LAYOUT.bay.aruco_dictionary)
    detector = cv2.aruco.ArucoDetector(cv2.aruco.getPredefinedDictionary(dictionary), cv2.aruco.DetectorParameters())
    outer = {f.x_m: f.marker_id for f in physics.fiducials if f.frame == 'deck' and abs(f.x_m) > 6.0}
    for camera in physics.cameras:
        frame = frames[camera.name]
        assert frame.image.shape == (480, 640, 3)
        corners, ids, _ = detector.detectMarkers(cv2.cvtColor(frame.image, cv2.COLOR_RGB2GRAY))
        expected = outer[6.8 * camera.end]
        assert ids is not None and expected in ids.ravel()
        centre = corners[list(ids.ravel()).index(expected)][0].mean(axis=0)
        cam_x = camera.position_in_spreader(12.192)[0]
        assert (centre[0] - 320) * (6.8 * camera.end - cam_x) > 0    # marker to the right when further +x
    physics.faults.cameras_lost_at_s = physics.t_s
    assert all(f.image is None for f in physics.capture().values())
    physics.close()


def test_the_model_is_built_from_the_parameters():
    tall = CranePhysics(CraneParams(sheave_height_m=22.0, spreader_mass_kg=12000.0), LAYOUT, (), seed=1,
                        start_spreader_z_m=8.0)
    assert tall.model.body('trolley').pos[2] == pytest.approx(22.0)
    assert tall.truth().rope_m == pytest.approx(22.0 - 1.2 - 8.0, abs=0.01)
    spreader = sum(tall.model.body_mass[tall.model.body(n).id] for n in ('spreader', 'beam_fwd', 'beam_aft'))
    assert spreader == pytest.approx(12000.0)


@pytest.mark.parametrize('held', [True, False])
def test_the_vision_estimator_finds_the_target_in_the_rendered_frames(held):
    """crane.vision behind the alignment hook, on this model's cameras and fiducials: over a vehicle that
    stopped 3 cm and 0.3 deg off (a held box, deck markers), or over a box on the deck (roof markers),
    the measured offset is the true one within a few millimetres."""
    from smartgate_core.crane.alignment import AlignmentRequest, VisionAlignment
    stop = Pose2D(0.03, -0.02, 0.005)
    if held:
        physics = world([box()], start_spreader_z_m=1.4 + 0.4 + 2.591, vehicle_pose=stop)
        physics.attach('A')
    else:
        physics = world([box(x=0.02, y=-0.01, z=1.4)], start_spreader_z_m=1.4 + 2.591 + 0.4, vehicle_pose=Pose2D())
    physics.step(0.5)
    truth = physics.truth()
    target = truth.deck if held else truth.containers['A'].pose
    frames = physics.capture()
    result = VisionAlignment(physics.fiducials, physics.cameras)(
        AlignmentRequest(physics.t_s, 'deck' if held else 'A', Pose2D(), frames, 12.192))
    physics.close()
    assert result.ok, result.reason
    sp = truth.spreader
    c, s = math.cos(sp.yaw_rad), math.sin(sp.yaw_rad)
    dx, dy = target.x_m - sp.x_m, target.y_m - sp.y_m
    assert result.dx_m == pytest.approx(c * dx + s * dy, abs=0.005)
    assert result.dy_m == pytest.approx(-s * dx + c * dy, abs=0.005)
    assert result.skew_rad == pytest.approx(target.yaw_rad - sp.yaw_rad, abs=0.002)
