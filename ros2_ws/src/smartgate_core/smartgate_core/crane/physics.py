"""The crane bay in MuJoCo: the model is built from `CraneParams` (MJCF generated here), stepped on its own,
read through simulated sensors, and rendered only on request.

Kinematic chain: gantry (slide x) -> trolley (slide y, at the sheave height) -> two rope hinges at the
sheave -> hoist (slide along the rope) -> two levelling hinges tied to the rope hinges by joint equalities
(the four-rope reeving keeps the spreader level, so the load is a pendulum of the rope length whatever its
centre of gravity) -> spreader (skew hinge) -> two telescopic end beams (slides) carrying the twistlocks,
the landing pins and the cameras. Each twistlock is a `connect` equality per container and corner, made
active only when the twistlock sits on that corner casting within tolerance; the vehicle's deck is a
body moved kinematically to the pose the vehicle simulator sets (with velocity, so boxes ride on it).
Containers are free bodies with their real mass and centre of gravity.

The controller side never reads this class's truth: `sensors()` returns what the crane's instruments
report (seeded noise, their own rates, stamps, injected faults); `truth()` is for benchmarks and tests.
"""
from __future__ import annotations

import math
import os
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

os.environ.setdefault('MUJOCO_GL', 'egl')      # headless rendering; must be set before mujoco loads
import mujoco  # noqa: E402

from ..params import doc  # noqa: E402
from .interface import LOCK, UNLOCK, CameraFrame, CraneCommand, CraneSensors  # noqa: E402
from .layout import (CASTING_INSET_LENGTH_M, CASTING_PITCH_WIDTH_M, CONTAINER_WIDTH_M, BayLayout,  # noqa: E402
                     CameraParams, Fiducial, Pose2D, casting_pitch_m, deck_fiducials, roof_fiducials, spreader_cameras)
from .params import GRAVITY_MPS2, CraneParams  # noqa: E402

# twistlock corners in the spreader frame, the order of CraneSensors.locked
CORNERS = ((1, 1), (1, -1), (-1, 1), (-1, -1))
DECK_SLAB_M = 0.3
ROOF_FIDUCIAL_FIRST_ID = 10
QUIET_ZONE_PX, MODULE_PX = 20, 20


@dataclass(frozen=True)
class PhysicsParams:
    timestep_s: float = doc(0.002, 'MuJoCo integration step [s]')
    seat_tolerance_m: float = doc(0.03, 'a twistlock engages only within this of its corner casting, horizontally [m]')
    seat_gap_m: float = doc(0.03, '... and this far above the casting [m]')
    seat_yaw_rad: float = doc(0.0175, '... and with the spreader within 1 deg of the box heading [rad]')
    encoder_hz: float = doc(50.0, 'gantry, trolley, hoist, skew and telescope encoders [Hz]')
    sway_hz: float = doc(25.0, 'rope angle (sway) sensor [Hz]')
    load_hz: float = doc(10.0, 'load cell in the hoist ropes [Hz]')
    switch_hz: float = doc(20.0, 'twistlock and landing-pin switches [Hz]')
    position_sigma_m: float = doc(0.002, 'gantry and trolley encoder noise [m]')
    rope_sigma_m: float = doc(0.003, 'hoist encoder (rope length) noise [m]')
    skew_sigma_rad: float = doc(0.0003, 'skew encoder noise [rad]')
    speed_sigma_mps: float = doc(0.003, 'drive speed feedback noise [m/s]')
    sway_sigma_rad: float = doc(0.0005, 'rope angle sensor noise [rad]')
    load_sigma_kg: float = doc(150.0, 'load cell noise [kg]')
    landed_force_n: float = doc(2000.0, 'a landing pin reports pressed above this contact force [N]')


@dataclass(frozen=True)
class WorldContainer:
    """A container as it really is (the world's truth, not its declaration)."""

    container_id: str
    length_m: float
    height_m: float
    mass_kg: float
    pose: Pose2D                      # bottom centre at the start
    base_z_m: float = 0.0             # height of its bottom at the start
    cog_m: tuple = (0.0, 0.0)         # centre of gravity off the middle, along and across the box [m]


AIR_DENSITY_KGPM3 = 1.225
DRAG_COEFFICIENT = 1.2                 # a box face or the spreader's beams, broadside
SPREADER_DEPTH_M = 0.8                 # height of the spreader's frame facing the wind


@dataclass(frozen=True)
class Gust:
    """A 1-cosine wind gust: the wind speed rises from 0 to its peak and back over the duration, blowing
    towards `direction_rad` (crane frame); it pushes on the load (the held box, else the spreader) by the
    area it shows the wind, at the middle of that area."""

    start_s: float
    duration_s: float
    peak_mps: float
    direction_rad: float

    def force_n(self, t_s: float, length_m: float, width_m: float, height_m: float, yaw_rad: float) -> np.ndarray:
        """Horizontal force (x, y) on a body of this size and heading now [N]."""
        u = (t_s - self.start_s) / self.duration_s
        if not 0.0 <= u <= 1.0:
            return np.zeros(2)
        speed = self.peak_mps * 0.5 * (1.0 - math.cos(2.0 * math.pi * u))
        rel = self.direction_rad - yaw_rad
        area = height_m * (length_m * abs(math.sin(rel)) + width_m * abs(math.cos(rel)))
        push = 0.5 * AIR_DENSITY_KGPM3 * speed * speed * DRAG_COEFFICIENT * area
        return push * np.array([math.cos(self.direction_rad), math.sin(self.direction_rad)])


@dataclass
class CraneFaults:
    """Faults injected into the world (the controller finds out only through its sensors)."""

    jammed_twistlocks: frozenset = frozenset()    # corner indices that never engage
    frozen_at_s: dict = field(default_factory=dict)   # sensor group -> time it stops updating
    cameras_lost_at_s: float | None = None        # from then on captures carry no image


@dataclass(frozen=True)
class ContainerTruth:
    pose: Pose2D
    z_m: float                        # bottom height
    locked_corners: int
    supported: bool                   # resting on a deck, the ground or another box


@dataclass(frozen=True)
class CraneTruth:
    t_s: float
    gantry_m: float
    trolley_m: float
    rope_m: float
    spreader: Pose2D                  # twistlock-plane centre and heading
    spreader_z_m: float
    sway_m: tuple                     # spreader offset from below the sheave (x, y)
    sway_mps: tuple
    containers: dict                  # id -> ContainerTruth
    deck: Pose2D


def marker_texture(dictionary: str, marker_id: int, cache_dir: Path) -> Path:
    """PNG of an ArUco marker with a white quiet zone of one module, generated once into the cache."""
    import cv2
    path = cache_dir / f'{dictionary}_{marker_id}.png'
    if not path.exists():
        aruco = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, dictionary))
        modules = aruco.markerSize + 2
        img = cv2.aruco.generateImageMarker(aruco, marker_id, modules * MODULE_PX, borderBits=1)
        img = cv2.copyMakeBorder(img, QUIET_ZONE_PX, QUIET_ZONE_PX, QUIET_ZONE_PX, QUIET_ZONE_PX,
                                 cv2.BORDER_CONSTANT, value=255)
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix='.png', dir=cache_dir)      # atomic: parallel runs share the cache
        os.close(fd)
        cv2.imwrite(tmp, cv2.cvtColor(img, cv2.COLOR_GRAY2RGB))
        os.replace(tmp, path)
    return path


def default_cache_dir() -> Path:
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return Path(base) / 'smartgate' / 'aruco'


def _quat_yaw(yaw_rad: float) -> str:
    return f'{math.cos(0.5 * yaw_rad):.9f} 0 0 {math.sin(0.5 * yaw_rad):.9f}'


def _f(*values) -> str:
    return ' '.join(f'{v:.6g}' for v in values)


class _Mjcf:
    """Builds the MJCF text of one crane bay from the parameters."""

    VISUAL = {'contype': '0', 'conaffinity': '0', 'group': '1'}

    def __init__(self, crane: CraneParams, physics: PhysicsParams, layout: BayLayout, containers, cameras,
                 fiducials, textures):
        self.c, self.p, self.layout, self.containers = crane, physics, layout, containers
        self.cameras, self.fiducials, self.textures = cameras, fiducials, textures
        self.root = ET.Element('mujoco', model='smartgate_rmg')

    def build(self) -> str:
        c = self.c
        ET.SubElement(self.root, 'option', timestep=_f(self.p.timestep_s), integrator='implicitfast')
        ET.SubElement(self.root, 'compiler', angle='radian')
        vis = ET.SubElement(self.root, 'visual')
        cam = self.cameras[0].params
        ET.SubElement(vis, 'global', offwidth=str(cam.width_px), offheight=str(cam.height_px))
        ET.SubElement(vis, 'quality', shadowsize='0')
        ET.SubElement(vis, 'headlight', ambient='0.3 0.3 0.3', diffuse='0.15 0.15 0.15', specular='0 0 0')
        ET.SubElement(ET.SubElement(self.root, 'default'), 'geom', friction=_f(c.friction, 0.005, 0.0001),
                      solref='0.005 1')
        asset = ET.SubElement(self.root, 'asset')
        for marker_id, path in self.textures.items():
            ET.SubElement(asset, 'texture', name=f'aruco_{marker_id}', type='2d', file=str(path))
            ET.SubElement(asset, 'material', name=f'aruco_{marker_id}', texture=f'aruco_{marker_id}', specular='0',
                          shininess='0', reflectance='0')  # matte: no glare on the fiducials
        world = ET.SubElement(self.root, 'worldbody')
        ET.SubElement(world, 'light', pos='0 0 40', dir='0.2 0.1 -1', directional='true', diffuse='0.4 0.4 0.4',
                      specular='0 0 0')
        ET.SubElement(world, 'geom', name='ground', type='plane', size='80 40 0.1', rgba='0.55 0.55 0.52 1')
        for slot in self.layout.slots:
            self._slot_marking(world, slot.pose)
        self._deck(world)
        for k, box in enumerate(self.containers):
            self._container(world, k, box)
        self._crane(world)
        self._equalities()
        self._actuators()
        self._sensors()
        return ET.tostring(self.root, encoding='unicode')

    def _slot_marking(self, world, pose: Pose2D):
        ET.SubElement(world, 'geom', type='box', size=_f(6.3, 1.35, 0.001), pos=_f(pose.x_m, pose.y_m, 0.001),
                      quat=_quat_yaw(pose.yaw_rad), rgba='0.9 0.85 0.2 0.35', **self.VISUAL)

    def _decal(self, parent, fid: Fiducial):
        half = 0.5 * fid.size_m * (1.0 + 2.0 * QUIET_ZONE_PX / ((self._modules()) * MODULE_PX))
        ET.SubElement(parent, 'geom', name=f'fiducial_{fid.marker_id}', type='box', size=_f(half, half, 0.0005),
                      pos=_f(fid.x_m, fid.y_m, fid.z_m + 0.0006), quat=_quat_yaw(fid.yaw_rad),
                      material=f'aruco_{fid.marker_id}', **self.VISUAL)

    def _modules(self) -> int:
        import cv2
        return cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.layout.bay.aruco_dictionary)).markerSize + 2

    def _deck(self, world):
        bay = self.layout.bay
        deck = ET.SubElement(world, 'body', name='deck', pos=_f(0, 0, bay.deck_height_m))
        for name, kind, axis in (('deck_x', 'slide', '1 0 0'), ('deck_y', 'slide', '0 1 0'),
                                 ('deck_yaw', 'hinge', '0 0 1')):
            ET.SubElement(deck, 'joint', name=name, type=kind, axis=axis)
        ET.SubElement(deck, 'inertial', mass='25000', pos='0 0 -0.5', diaginertia='5e4 5e5 5e5')
        ET.SubElement(deck, 'geom', name='deck', type='box', rgba='0.25 0.27 0.3 1',
                      size=_f(0.5 * bay.deck_length_m, 0.5 * bay.deck_width_m, 0.5 * DECK_SLAB_M),
                      pos=_f(0, 0, -0.5 * DECK_SLAB_M))
        ET.SubElement(deck, 'geom', type='box', rgba='0.1 0.1 0.1 1',
                      pos=_f(0, 0, -0.5 * (bay.deck_height_m + DECK_SLAB_M)),
                      size=_f(0.45 * bay.deck_length_m, 0.35 * bay.deck_width_m,
                              0.5 * (bay.deck_height_m - DECK_SLAB_M) - 0.3), **self.VISUAL)
        for fid in self.fiducials:
            if fid.frame == 'deck':
                self._decal(deck, fid)

    def _container(self, world, k, box: WorldContainer):
        palette = ('0.75 0.2 0.15 1', '0.15 0.35 0.7 1', '0.2 0.55 0.3 1', '0.8 0.55 0.1 1', '0.5 0.5 0.55 1')
        body = ET.SubElement(world, 'body', name=f'box_{box.container_id}',
                             pos=_f(box.pose.x_m, box.pose.y_m, box.base_z_m), quat=_quat_yaw(box.pose.yaw_rad))
        ET.SubElement(body, 'freejoint', name=f'box_{box.container_id}')
        lx, ly, lz = box.length_m, CONTAINER_WIDTH_M, box.height_m
        # a box loaded evenly in its lower part; the centre of gravity where the shipper put it
        ET.SubElement(body, 'inertial', mass=_f(box.mass_kg), pos=_f(box.cog_m[0], box.cog_m[1], 0.4 * lz),
                      diaginertia=_f(box.mass_kg * (ly ** 2 + lz ** 2) / 12, box.mass_kg * (lx ** 2 + lz ** 2) / 12,
                                     box.mass_kg * (lx ** 2 + ly ** 2) / 12))
        ET.SubElement(body, 'geom', name=f'box_{box.container_id}', type='box', size=_f(lx / 2, ly / 2, lz / 2),
                      pos=_f(0, 0, lz / 2), rgba=palette[k % len(palette)], density='0')
        px, py = 0.5 * casting_pitch_m(lx), 0.5 * CASTING_PITCH_WIDTH_M
        for i, (sx, sy) in enumerate(CORNERS):
            ET.SubElement(body, 'site', name=f'casting_{box.container_id}_{i}', pos=_f(sx * px, sy * py, lz),
                          size='0.05')
        for fid in self.fiducials:
            if fid.frame == box.container_id:
                self._decal(body, fid)

    def _crane(self, world):
        c = self.c
        span = (c.trolley_min_m - 2.0, c.trolley_max_m + 2.0)
        gantry = ET.SubElement(world, 'body', name='gantry')
        ET.SubElement(gantry, 'joint', name='gantry', type='slide', axis='1 0 0',
                      range=_f(c.gantry_min_m, c.gantry_max_m), limited='true')
        ET.SubElement(gantry, 'inertial', mass=_f(c.gantry_mass_kg), pos='0 0 10', diaginertia='1e7 1e7 1e7')
        for y in span:
            for x in (-8.0, 8.0):
                ET.SubElement(gantry, 'geom', type='box', size='0.5 0.5 9.5', pos=_f(x, y, 9.5),
                              rgba='0.2 0.35 0.6 1', **self.VISUAL)
        for x in (-1.5, 1.5):
            ET.SubElement(gantry, 'geom', type='box', size=_f(0.5, 0.5 * (span[1] - span[0]) + 0.5, 0.8),
                          pos=_f(x, 0.5 * sum(span), c.sheave_height_m + 1.0), rgba='0.2 0.35 0.6 1', **self.VISUAL)
        trolley = ET.SubElement(gantry, 'body', name='trolley', pos=_f(0, 0, c.sheave_height_m))
        ET.SubElement(trolley, 'joint', name='trolley', type='slide', axis='0 1 0',
                      range=_f(c.trolley_min_m, c.trolley_max_m), limited='true')
        ET.SubElement(trolley, 'inertial', mass=_f(c.trolley_mass_kg), pos='0 0 0.5', diaginertia='1e5 1e5 1e5')
        ET.SubElement(trolley, 'geom', type='box', size='2.2 1.8 0.6', pos='0 0 0.7', rgba='0.85 0.85 0.85 1',
                      **self.VISUAL)
        for i, (sx, sy) in enumerate(CORNERS):
            ET.SubElement(trolley, 'site', name=f'sheave_{i}', pos=_f(0.6 * sx, 0.5 * sy, 0))
        swing = ET.SubElement(trolley, 'body', name='rope_swing')
        ET.SubElement(swing, 'joint', name='sway_y', type='hinge', axis='1 0 0')
        ET.SubElement(swing, 'joint', name='sway_x', type='hinge', axis='0 -1 0')
        ET.SubElement(swing, 'inertial', mass='1', pos='0 0 0', diaginertia='0.01 0.01 0.01')
        # qpos0 (where MuJoCo computes the constraints' inverse weights) at a mid rope length, not at zero
        rope_ref = 0.5 * (c.rope_min_m + c.rope_max_m)
        rope = ET.SubElement(swing, 'body', name='rope_end', pos=_f(0, 0, -rope_ref))
        ET.SubElement(rope, 'joint', name='hoist', type='slide', axis='0 0 -1', ref=_f(rope_ref),
                      range=_f(c.rope_min_m - 0.5, c.rope_max_m + 0.2), limited='true')
        ET.SubElement(rope, 'inertial', mass='1', pos='0 0 0', diaginertia='0.01 0.01 0.01')
        level = ET.SubElement(rope, 'body', name='headblock')
        ET.SubElement(level, 'joint', name='level_x', type='hinge', axis='0 -1 0')
        ET.SubElement(level, 'joint', name='level_y', type='hinge', axis='1 0 0')
        ET.SubElement(level, 'inertial', mass='1', pos='0 0 0', diaginertia='0.01 0.01 0.01')
        for i, (sx, sy) in enumerate(CORNERS):
            ET.SubElement(level, 'site', name=f'rope_{i}', pos=_f(0.6 * sx, 0.5 * sy, 0))
        self._spreader(level)

    def _spreader(self, headblock):
        c = self.c
        frame_kg, beam_kg = 0.7 * c.spreader_mass_kg, 0.15 * c.spreader_mass_kg
        sp = ET.SubElement(headblock, 'body', name='spreader', pos=_f(0, 0, -c.headblock_height_m))
        ET.SubElement(sp, 'joint', name='skew', type='hinge', axis='0 0 1', range=_f(-c.skew_max_rad, c.skew_max_rad),
                      limited='true')
        ET.SubElement(sp, 'inertial', mass=_f(frame_kg), pos='0 0 0.6',
                      diaginertia=_f(frame_kg * 1.0, frame_kg * 3.0, frame_kg * 3.5))
        ET.SubElement(sp, 'geom', name='spreader_frame', type='box', size='2.7 0.6 0.3', pos='0 0 0.45',
                      rgba='0.95 0.75 0.1 1')
        ET.SubElement(sp, 'geom', type='box', size='0.4 0.4 0.4', pos=_f(0, 0, c.headblock_height_m - 0.4),
                      rgba='0.3 0.3 0.3 1', **self.VISUAL)
        for name, end in (('beam_fwd', 1), ('beam_aft', -1)):
            tele_ref = 0.5 * casting_pitch_m(c.spreader_max_m)
            beam = ET.SubElement(sp, 'body', name=name, pos=_f(end * tele_ref, 0, 0))
            ET.SubElement(beam, 'joint', name=f'tele_{name[5:]}', type='slide', axis=_f(end, 0, 0), ref=_f(tele_ref),
                          range=_f(0.5 * casting_pitch_m(c.spreader_min_m) - 0.05,
                                   0.5 * casting_pitch_m(c.spreader_max_m) + 0.05), limited='true')
            ET.SubElement(beam, 'inertial', mass=_f(beam_kg), pos='0 0 0.3',
                          diaginertia=_f(beam_kg * 0.5, beam_kg * 0.1, beam_kg * 0.5))
            ET.SubElement(beam, 'geom', name=f'{name}_beam', type='box', size=_f(0.15, 0.5 * CONTAINER_WIDTH_M, 0.2),
                          pos='0 0 0.25', rgba='0.95 0.75 0.1 1')
            ET.SubElement(beam, 'geom', type='box', size='1.6 0.25 0.15', pos=_f(-end * 1.6, 0, 0.45),
                          rgba='0.9 0.7 0.1 1', **self.VISUAL)
            for i, (sx, sy) in enumerate(CORNERS):
                if sx != end:
                    continue
                y = sy * 0.5 * CASTING_PITCH_WIDTH_M
                ET.SubElement(beam, 'geom', name=f'pin_{i}', type='box', size='0.12 0.12 0.025', pos=_f(0, y, 0.025),
                              rgba='0.2 0.2 0.2 1')
                ET.SubElement(beam, 'site', name=f'pin_{i}', type='box', size='0.14 0.14 0.04', pos=_f(0, y, 0.02))
                ET.SubElement(beam, 'site', name=f'twistlock_{i}', pos=_f(0, y, 0), size='0.05')
            spec = next(cam for cam in self.cameras if cam.end == end)
            ET.SubElement(beam, 'camera', name=spec.name, pos=_f(end * spec.params.outboard_m, 0,
                                                                spec.params.mount_height_m),
                          fovy=_f(math.degrees(spec.params.fovy_rad)))

    def _equalities(self):
        eq = ET.SubElement(self.root, 'equality')
        for level, sway in (('level_x', 'sway_x'), ('level_y', 'sway_y')):
            ET.SubElement(eq, 'joint', joint1=level, joint2=sway, polycoef='0 -1 0 0 0', solref='0.005 1',
                          solimp='0.99 0.999 0.001')
        py = 0.5 * CASTING_PITCH_WIDTH_M
        for box in self.containers:
            for i, (sx, sy) in enumerate(CORNERS):
                ET.SubElement(eq, 'connect', name=f'lock_{box.container_id}_{i}',
                              body1='beam_fwd' if sx > 0 else 'beam_aft', body2=f'box_{box.container_id}',
                              anchor=_f(0, sy * py, 0), active='false', solref='0.005 1')

    def _actuators(self):
        """Drive motors (force, from the drives' speed loops in CranePhysics) and the telescope servos."""
        c = self.c
        act = ET.SubElement(self.root, 'actuator')
        for name, lo, hi in (('gantry', -c.gantry_force_n, c.gantry_force_n),
                             ('trolley', -c.trolley_force_n, c.trolley_force_n),
                             ('hoist', -c.hoist_force_n, 0.0),           # ropes pull, never push
                             ('skew', -c.skew_torque_nm, c.skew_torque_nm)):
            ET.SubElement(act, 'motor', name=name, joint=name, ctrllimited='true', ctrlrange=_f(lo, hi))
        # the telescope is stiff (it carries half a box each end): 4 Hz, damped, for a full load
        carried_kg = 0.5 * (c.spreader_mass_kg + c.max_payload_kg)
        kp = carried_kg * (2.0 * math.pi * 4.0) ** 2
        for end in ('fwd', 'aft'):
            ET.SubElement(act, 'position', name=f'tele_{end}', joint=f'tele_{end}', kp=_f(kp),
                          kv=_f(1.4 * math.sqrt(kp * carried_kg)), forcelimited='true',
                          forcerange=_f(-carried_kg * 10.0, carried_kg * 10.0))

    def _sensors(self):
        sen = ET.SubElement(self.root, 'sensor')
        for joint in ('gantry', 'trolley', 'hoist', 'skew', 'tele_fwd', 'tele_aft', 'sway_x', 'sway_y'):
            ET.SubElement(sen, 'jointpos', name=f'{joint}_pos', joint=joint)
        for joint in ('gantry', 'trolley', 'hoist'):
            ET.SubElement(sen, 'jointvel', name=f'{joint}_vel', joint=joint)
        ET.SubElement(sen, 'actuatorfrc', name='hoist_force', actuator='hoist')
        for i in range(4):
            ET.SubElement(sen, 'touch', name=f'pin_{i}', site=f'pin_{i}')


class _SpeedLoops:
    """The drives' speed controllers: PI on the joint speed, force limited (conditional integration, so
    a saturated drive, or a slack rope, winds nothing up)."""

    def __init__(self, crane: CraneParams, integral_time_s: float = 0.3):
        # what each drive moves rigidly (the hanging load is felt through the rope, slowly)
        c, half = crane, 0.5 * crane.max_payload_kg
        inertia = np.array([c.gantry_mass_kg + c.trolley_mass_kg, c.trolley_mass_kg, c.spreader_mass_kg + half,
                            (c.spreader_mass_kg + half) * c.spreader_max_m ** 2 / 12.0])
        self.kp = inertia / c.servo_time_constant_s
        self.ki = self.kp / integral_time_s
        self.lo = np.array([-c.gantry_force_n, -c.trolley_force_n, -c.hoist_force_n, -c.skew_torque_nm])
        self.hi = np.array([c.gantry_force_n, c.trolley_force_n, 0.0, c.skew_torque_nm])
        self.setpoint = np.zeros(4)
        self.integral = np.zeros(4)

    def carry(self, mass_kg: float):
        """Start the hoist's loop already holding this hanging mass (the world starts at rest)."""
        self.integral[2] = -mass_kg * GRAVITY_MPS2 / self.ki[2]

    def force(self, speed: np.ndarray, dt_s: float) -> np.ndarray:
        error = self.setpoint - speed
        raw = self.kp * error + self.ki * self.integral
        out = np.clip(raw, self.lo, self.hi)
        winding = ((raw > self.hi) & (error > 0)) | ((raw < self.lo) & (error < 0))
        self.integral += np.where(winding, 0.0, error * dt_s)
        return out


class CranePhysics:
    """One crane bay in MuJoCo: the world side. `apply` a command, `step`, read `sensors`, `capture`
    camera images on request; `set_vehicle_pose` is the vehicle simulator's hook; `truth` for benches."""

    def __init__(self, crane: CraneParams, layout: BayLayout, containers=(), seed: int = 0,
                 physics: PhysicsParams = PhysicsParams(), cameras: CameraParams = CameraParams(),
                 start_gantry_m: float = 0.0, start_trolley_m: float = 0.0, start_spreader_z_m: float = 8.0,
                 start_spreader_length_m: float | None = None, vehicle_pose: Pose2D = Pose2D(),
                 cache_dir: Path | None = None):
        self.crane, self.params, self.layout = crane, physics, layout
        self.containers = tuple(containers)
        self.cameras = spreader_cameras(cameras)
        fiducials = list(deck_fiducials(layout.bay))
        for k, box in enumerate(self.containers):
            fiducials += roof_fiducials(layout.bay, box.container_id, box.length_m, box.height_m,
                                        ROOF_FIDUCIAL_FIRST_ID + 2 * k)
        self.fiducials = tuple(fiducials)
        import cv2
        size = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, layout.bay.aruco_dictionary)).bytesList.shape[0]
        if max(f.marker_id for f in fiducials) >= size:
            raise ValueError(f'{len(self.containers)} boxes need marker ids beyond {layout.bay.aruco_dictionary}')
        cache = Path(cache_dir) if cache_dir else default_cache_dir()
        textures = {f.marker_id: marker_texture(layout.bay.aruco_dictionary, f.marker_id, cache) for f in fiducials}
        self.mjcf = _Mjcf(crane, physics, layout, self.containers, self.cameras, self.fiducials, textures).build()
        self.model = mujoco.MjModel.from_xml_string(self.mjcf)
        self.data = mujoco.MjData(self.model)
        self.faults = CraneFaults()
        self.gusts: list[Gust] = []
        self._ids()
        streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)]
        self._rng = dict(zip(('encoders', 'sway', 'load', 'switches'), streams))
        self._init_state(start_gantry_m, start_trolley_m, start_spreader_z_m,
                         start_spreader_length_m or crane.spreader_max_m)
        self._renderer = None
        self._drives = _SpeedLoops(crane)
        self._drives.carry(crane.spreader_mass_kg)
        self._deck_from, self._deck_goal = None, np.zeros(3)
        self.set_vehicle_pose(vehicle_pose, teleport=True)
        self._lock_goal, self._lock_goal_s, self._lock_done = UNLOCK, 0.0, True
        self._step_count = 0
        self.wall_step_s = 0.0                  # wall time spent in mj_step, for the real-time factor
        self._samples: dict = {}
        self._sample_all(force=True)

    # ---------------------------------------------------------------- set-up
    def _ids(self):
        m = self.model
        jnt = lambda n: m.joint(n)  # noqa: E731
        self._qadr = {n: jnt(n).qposadr[0] for n in ('gantry', 'trolley', 'hoist', 'skew', 'sway_x', 'sway_y',
                                                     'level_x', 'level_y', 'tele_fwd', 'tele_aft')}
        self._dadr = {n: jnt(n).dofadr[0] for n in ('gantry', 'trolley', 'hoist', 'skew', 'sway_x', 'sway_y')}
        self._drive_dofs = np.array([self._dadr[n] for n in ('gantry', 'trolley', 'hoist', 'skew')])
        self._drive_motors = np.array([m.actuator(n).id for n in ('gantry', 'trolley', 'hoist', 'skew')])
        self._act = {n: m.actuator(n).id for n in ('gantry', 'trolley', 'hoist', 'skew', 'tele_fwd', 'tele_aft')}
        self._sens = {m.sensor(i).name: (m.sensor_adr[i], m.sensor_dim[i]) for i in range(m.nsensor)}
        self._box_body = {b.container_id: m.body(f'box_{b.container_id}').id for b in self.containers}
        self._box_geom = {b.container_id: m.geom(f'box_{b.container_id}').id for b in self.containers}
        self._box_qadr = {b.container_id: m.joint(f'box_{b.container_id}').qposadr[0] for b in self.containers}
        self._box_contact = {cid: (int(m.geom_contype[g]), int(m.geom_conaffinity[g])) for cid, g in self._box_geom.items()}
        self.parked: set = set()
        self._box_dadr = {b.container_id: m.joint(f'box_{b.container_id}').dofadr[0] for b in self.containers}
        self._lock_eq = {b.container_id: [m.equality(f'lock_{b.container_id}_{i}').id for i in range(4)]
                         for b in self.containers}
        self._castings = {b.container_id: [m.site(f'casting_{b.container_id}_{i}').id for i in range(4)]
                          for b in self.containers}
        self._twistlock_site = [m.site(f'twistlock_{i}').id for i in range(4)]
        self._spreader_body = m.body('spreader').id
        self._trolley_body = m.body('trolley').id
        self._deck_q = np.array([m.joint(n).qposadr[0] for n in ('deck_x', 'deck_y', 'deck_yaw')])
        self._deck_v = np.array([m.joint(n).dofadr[0] for n in ('deck_x', 'deck_y', 'deck_yaw')])
        self._supports = {m.geom('ground').id, m.geom('deck').id} | set(self._box_geom.values())

    def _init_state(self, gantry_m, trolley_m, spreader_z_m, spreader_length_m):
        d, q = self.data, self._qadr
        d.qpos[q['gantry']], d.qpos[q['trolley']] = gantry_m, trolley_m
        d.qpos[q['hoist']] = self.crane.rope_for_height(spreader_z_m)
        half_pitch = 0.5 * casting_pitch_m(spreader_length_m)
        d.qpos[q['tele_fwd']] = d.qpos[q['tele_aft']] = half_pitch
        d.ctrl[self._act['tele_fwd']] = d.ctrl[self._act['tele_aft']] = half_pitch
        self._spreader_length_goal = spreader_length_m
        mujoco.mj_forward(self.model, self.data)

    # ---------------------------------------------------------------- world-side inputs
    @property
    def t_s(self) -> float:
        return float(self.data.time)

    def set_vehicle_pose(self, pose: Pose2D, teleport: bool = False):
        """The deck's top-surface centre in the crane frame (the vehicle simulator owns this truth). The
        deck moves there during the next step, kinematically, with the matching velocity, so a box on it
        rides along by friction (a MuJoCo mocap body would teleport without velocity); `teleport` puts
        it there at once (a vehicle that arrives from outside the model)."""
        self._deck_goal = np.array([pose.x_m, pose.y_m, pose.yaw_rad])
        if self._deck_from is None or teleport:
            self._deck_from = self._deck_goal.copy()
            self.data.qpos[self._deck_q] = self._deck_goal
            mujoco.mj_forward(self.model, self.data)

    def add_gust(self, gust: Gust):
        self.gusts.append(gust)

    def apply(self, command: CraneCommand):
        """Set the drives' velocity setpoints, the telescope and the twistlock goal."""
        # the hoist joint lengthens the rope: raising is a negative joint speed
        self._drives.setpoint[:] = (command.gantry_mps, command.trolley_mps, -command.hoist_mps, command.skew_radps)
        if command.spreader_length_m is not None:
            self._spreader_length_goal = min(max(command.spreader_length_m, self.crane.spreader_min_m),
                                             self.crane.spreader_max_m)
        if command.twistlocks in (LOCK, UNLOCK) and command.twistlocks != self._lock_goal:
            self._lock_goal, self._lock_goal_s, self._lock_done = command.twistlocks, self.t_s, False

    def attach(self, container_id: str):
        """Set-up only (a keyframe, not a crane action): put this box under the spreader, seated, and
        lock all four twistlocks."""
        m, d = self.model, self.data
        box = next(b for b in self.containers if b.container_id == container_id)
        sp = d.xpos[self._spreader_body]
        yaw = self._yaw(self._spreader_body)
        q = self._box_qadr[container_id]
        d.qpos[q:q + 3] = (sp[0], sp[1], sp[2] - box.height_m)
        d.qpos[q + 3:q + 7] = (math.cos(0.5 * yaw), 0.0, 0.0, math.sin(0.5 * yaw))
        dq = self._box_dadr[container_id]
        d.qvel[dq:dq + 6] = 0.0
        mujoco.mj_forward(m, d)
        body = self._box_body[container_id]
        for i, e in enumerate(self._lock_eq[container_id]):
            tl = d.site_xpos[self._twistlock_site[i]]
            m.eq_data[e, 3:6] = d.xmat[body].reshape(3, 3).T @ (tl - d.xpos[body])
            d.eq_active[e] = 1
        self._lock_goal, self._lock_done = LOCK, True
        self._drives.carry(self.crane.spreader_mass_kg + box.mass_kg)
        mujoco.mj_forward(m, d)
        self._sample_all(force=True)

    def park(self, container_id: str):
        """Take a box out of the bay (a vehicle carried it off): no contacts, no gravity, far away and still,
        its twistlock links released. `unpark` brings it back onto the deck."""
        m, d = self.model, self.data
        geom, body = self._box_geom[container_id], self._box_body[container_id]
        m.geom_contype[geom] = m.geom_conaffinity[geom] = 0
        m.body_gravcomp[body] = 1.0
        for e in self._lock_eq[container_id]:
            d.eq_active[e] = 0
        q, dq = self._box_qadr[container_id], self._box_dadr[container_id]
        d.qpos[q:q + 7] = (-1000.0 - 50.0 * len(self.parked), 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)
        d.qvel[dq:dq + 6] = 0.0
        self.parked.add(container_id)
        mujoco.mj_forward(m, d)

    def unpark(self, container_id: str, velocity_mps=(0.0, 0.0)):
        """Bring a parked box back, standing on the deck where the deck is now, moving with it at this
        velocity (crane frame; a vehicle brought it)."""
        m, d = self.model, self.data
        geom, body = self._box_geom[container_id], self._box_body[container_id]
        m.geom_contype[geom], m.geom_conaffinity[geom] = self._box_contact[container_id]
        m.body_gravcomp[body] = 0.0
        x, y, yaw = (float(v) for v in d.qpos[self._deck_q])
        q, dq = self._box_qadr[container_id], self._box_dadr[container_id]
        d.qpos[q:q + 7] = (x, y, self.layout.bay.deck_height_m, math.cos(0.5 * yaw), 0.0, 0.0, math.sin(0.5 * yaw))
        d.qvel[dq:dq + 6] = 0.0
        d.qvel[dq:dq + 2] = velocity_mps                      # it rides in at the deck's speed
        self.parked.discard(container_id)
        mujoco.mj_forward(m, d)

    def boxes_on_deck(self) -> list:
        """Ids of the boxes standing free on the deck (unlocked, their bottom on its top, inside its outline)."""
        d, bay = self.data, self.layout.bay
        x, y, yaw = (float(v) for v in d.qpos[self._deck_q])
        c, s = math.cos(yaw), math.sin(yaw)
        on = []
        for cid, body in self._box_body.items():
            if cid in self.parked or any(d.eq_active[e] for e in self._lock_eq[cid]):
                continue
            bx, by, bz = d.xpos[body]
            u, v = c * (bx - x) + s * (by - y), -s * (bx - x) + c * (by - y)
            if abs(bz - bay.deck_height_m) < 0.05 and abs(u) < 0.5 * bay.deck_length_m and abs(v) < 0.5 * bay.deck_width_m:
                on.append(cid)
        return on

    # ---------------------------------------------------------------- stepping
    def step(self, dt_s: float):
        """Advance the physics by dt_s (whole MuJoCo steps), the twistlock mechanism and the sensors."""
        n = max(1, round(dt_s / self.params.timestep_s))
        d, dofs, motors, dt = self.data, self._drive_dofs, self._drive_motors, self.params.timestep_s
        deck_from, deck_rate = self._deck_from, (self._deck_goal - self._deck_from) / (n * dt)
        goal = 0.5 * casting_pitch_m(self._spreader_length_goal)
        tele = self._act['tele_fwd'], self._act['tele_aft']
        for i in range(n):
            # the telescope's setpoint moves at the telescope's speed
            step_m = self.crane.telescope_speed_mps * dt
            for a in tele:
                d.ctrl[a] += max(-step_m, min(step_m, goal - d.ctrl[a]))
            d.qpos[self._deck_q] = deck_from + deck_rate * (i * dt)
            d.qvel[self._deck_v] = deck_rate
            self._apply_wind()
            d.ctrl[motors] = self._drives.force(d.qvel[dofs], dt)
            start = time.perf_counter()
            mujoco.mj_step(self.model, self.data)
            self.wall_step_s += time.perf_counter() - start
            self._step_count += 1
            self._twistlock_mechanism()
            self._sample_all()
        self._deck_from = self._deck_goal.copy()
        d.qpos[self._deck_q] = self._deck_goal
        d.qvel[self._deck_v] = 0.0

    def _load(self):
        """The body the wind pushes on, its size (length, width, height) and its middle, in its frame."""
        for box in self.containers:
            if any(self.data.eq_active[e] for e in self._lock_eq[box.container_id]):
                size = (box.length_m, CONTAINER_WIDTH_M, box.height_m)
                return self._box_body[box.container_id], size, np.array([0.0, 0.0, 0.5 * box.height_m])
        length = 2.0 * self.data.qpos[self._qadr['tele_fwd']] + CASTING_INSET_LENGTH_M
        return self._spreader_body, (length, CONTAINER_WIDTH_M, SPREADER_DEPTH_M), np.array([0.0, 0.0, 0.4])

    def _apply_wind(self):
        self.data.xfrc_applied[:] = 0.0
        if not self.gusts:
            return
        body, size, middle_local = self._load()
        yaw = self._yaw(body)
        force = sum((g.force_n(self.t_s, *size, yaw) for g in self.gusts), np.zeros(2))
        if not force.any():
            return
        # the wind pushes on the middle of the area; off the centre of gravity that is also a yaw moment
        middle = self.data.xpos[body] + self.data.xmat[body].reshape(3, 3) @ middle_local
        arm = middle - self.data.xipos[body]
        f3 = np.array([force[0], force[1], 0.0])
        self.data.xfrc_applied[body, :3] = f3
        self.data.xfrc_applied[body, 3:] = np.cross(arm, f3)

    def _seated_corners(self, cid: str) -> list[bool]:
        """Which twistlocks sit on this box's corner castings, within tolerance (the mechanism's check)."""
        p, d = self.params, self.data
        yaw_sp = self._yaw(self._spreader_body)
        yaw_box = self._yaw(self._box_body[cid])
        rel = (yaw_box - yaw_sp + 0.5 * math.pi) % math.pi - 0.5 * math.pi        # a box fits either way round
        if abs(rel) > p.seat_yaw_rad:
            return [False] * 4
        seated = []
        castings = [d.site_xpos[s] for s in self._castings[cid]]
        for site in self._twistlock_site:
            tl = d.site_xpos[site]
            gaps = [(np.hypot(*(tl[:2] - cs[:2])), tl[2] - cs[2]) for cs in castings]
            horizontal, vertical = min(gaps)
            seated.append(horizontal <= p.seat_tolerance_m and -0.01 <= vertical <= p.seat_gap_m)
        return seated

    def _twistlock_mechanism(self):
        if self._lock_done or self.t_s - self._lock_goal_s < self.crane.twistlock_time_s:
            return
        self._lock_done = True
        m, d = self.model, self.data
        if self._lock_goal == UNLOCK:
            for eqs in self._lock_eq.values():
                for e in eqs:
                    d.eq_active[e] = 0
            return
        for cid, eqs in self._lock_eq.items():
            seated = self._seated_corners(cid)
            if not any(seated):
                continue
            box = self._box_body[cid]
            for i, e in enumerate(eqs):
                if seated[i] and i not in self.faults.jammed_twistlocks:
                    # lock where it sits: the casting point under the twistlock, in the box's frame
                    tl = d.site_xpos[self._twistlock_site[i]]
                    m.eq_data[e, 3:6] = d.xmat[box].reshape(3, 3).T @ (tl - d.xpos[box])
                    d.eq_active[e] = 1
            return

    # ---------------------------------------------------------------- sensors
    def _s(self, name) -> np.ndarray:
        adr, dim = self._sens[name]
        return self.data.sensordata[adr:adr + dim]

    def _due(self, rate_hz) -> bool:
        every = max(1, round(1.0 / (rate_hz * self.params.timestep_s)))
        return self._step_count % every == 0

    def _frozen(self, group) -> bool:
        at = self.faults.frozen_at_s.get(group)
        return at is not None and self.t_s >= at

    def _sample_all(self, force: bool = False):
        p = self.params
        for group, rate, read in (('encoders', p.encoder_hz, self._read_encoders), ('sway', p.sway_hz, self._read_sway),
                                  ('load', p.load_hz, self._read_load), ('switches', p.switch_hz, self._read_switches)):
            if (force or self._due(rate)) and not self._frozen(group):
                self._samples[group] = (self.t_s, read(self._rng[group]))

    def _read_encoders(self, rng):
        p, s = self.params, self._s
        n = rng.standard_normal(7)
        tele = 0.5 * (s('tele_fwd_pos')[0] + s('tele_aft_pos')[0])
        return dict(gantry_m=s('gantry_pos')[0] + p.position_sigma_m * n[0],
                    trolley_m=s('trolley_pos')[0] + p.position_sigma_m * n[1],
                    rope_m=s('hoist_pos')[0] + p.rope_sigma_m * n[2],
                    skew_rad=s('skew_pos')[0] + p.skew_sigma_rad * n[3],
                    spreader_length_m=2.0 * tele + CASTING_INSET_LENGTH_M,
                    gantry_mps=s('gantry_vel')[0] + p.speed_sigma_mps * n[4],
                    trolley_mps=s('trolley_vel')[0] + p.speed_sigma_mps * n[5],
                    hoist_mps=-s('hoist_vel')[0] + p.speed_sigma_mps * n[6])

    def _read_sway(self, rng):
        n = rng.standard_normal(2) * self.params.sway_sigma_rad
        return dict(sway_x_rad=self._s('sway_x_pos')[0] + n[0], sway_y_rad=self._s('sway_y_pos')[0] + n[1])

    def _read_load(self, rng):
        tension = -self._s('hoist_force')[0]
        mass = tension / GRAVITY_MPS2 - self.crane.spreader_mass_kg
        return dict(payload_kg=mass + self.params.load_sigma_kg * rng.standard_normal())

    def _read_switches(self, rng):
        del rng                                        # switches are not noisy; they fail (faults)
        locked = [False] * 4
        for eqs in self._lock_eq.values():
            for i, e in enumerate(eqs):
                locked[i] = locked[i] or bool(self.data.eq_active[e])
        # a pin is pressed by a roof under it, or held in by the box its twistlock has locked
        landed = all(locked[i] or self._s(f'pin_{i}')[0] > self.params.landed_force_n for i in range(4))
        return dict(locked=tuple(locked), landed=landed)

    def sensors(self) -> CraneSensors:
        """The newest sample of every sensor group, with its stamp."""
        values, stamps = {}, {}
        for group, (t, v) in self._samples.items():
            values.update(v)
            stamps[group] = t
        return CraneSensors(t_s=self.t_s, stamps=stamps, **values)

    # ---------------------------------------------------------------- cameras
    def render(self, camera: str) -> np.ndarray:
        """RGB image of a spreader camera now (offscreen; separate from stepping)."""
        if self._renderer is None:
            cam = self.cameras[0].params
            self._renderer = mujoco.Renderer(self.model, cam.height_px, cam.width_px)
        self._renderer.update_scene(self.data, camera=camera)
        return self._renderer.render().copy()

    def capture(self) -> dict:
        """Frames of every spreader camera now; no image once the cameras are lost (a fault)."""
        lost = self.faults.cameras_lost_at_s is not None and self.t_s >= self.faults.cameras_lost_at_s
        length = self._samples['encoders'][1]['spreader_length_m']
        return {cam.name: CameraFrame(cam.name, self.t_s, None if lost else self.render(cam.name), length)
                for cam in self.cameras}

    def close(self):
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    # ---------------------------------------------------------------- truth
    def _yaw(self, body) -> float:
        r = self.data.xmat[body].reshape(3, 3)
        return math.atan2(r[1, 0], r[0, 0])

    def _supported(self) -> set:
        d, supported = self.data, set()
        geom_box = {g: cid for cid, g in self._box_geom.items()}
        for c in d.contact[:d.ncon]:
            for mine, other in ((c.geom1, c.geom2), (c.geom2, c.geom1)):
                cid = geom_box.get(mine)
                if cid is None or other not in self._supports:
                    continue
                # only from below: the other surface is under this box's bottom
                if c.pos[2] <= d.xpos[self._box_body[cid]][2] + 0.05:
                    supported.add(cid)
        return supported

    def truth(self) -> CraneTruth:
        d, q = self.data, self._qadr
        sp = d.xpos[self._spreader_body]
        sheave = d.xpos[self._trolley_body]
        supported = self._supported()
        boxes = {}
        for b in self.containers:
            if b.container_id in self.parked:          # carried off by a vehicle: not in the bay
                continue
            body = self._box_body[b.container_id]
            pos = d.xpos[body]
            boxes[b.container_id] = ContainerTruth(
                Pose2D(float(pos[0]), float(pos[1]), self._yaw(body)), float(pos[2]),
                int(sum(d.eq_active[e] for e in self._lock_eq[b.container_id])), b.container_id in supported)
        deck = d.qpos[self._deck_q]
        vel = np.zeros(6)
        mujoco.mj_objectVelocity(self.model, d, mujoco.mjtObj.mjOBJ_BODY, self._spreader_body, vel, 0)
        tv = np.zeros(6)
        mujoco.mj_objectVelocity(self.model, d, mujoco.mjtObj.mjOBJ_BODY, self._trolley_body, tv, 0)
        return CraneTruth(
            t_s=self.t_s, gantry_m=float(d.qpos[q['gantry']]), trolley_m=float(d.qpos[q['trolley']]),
            rope_m=float(d.qpos[q['hoist']]),
            spreader=Pose2D(float(sp[0]), float(sp[1]), self._yaw(self._spreader_body)), spreader_z_m=float(sp[2]),
            sway_m=(float(sp[0] - sheave[0]), float(sp[1] - sheave[1])),
            sway_mps=(float(vel[3] - tv[3]), float(vel[4] - tv[4])),
            containers=boxes, deck=Pose2D(float(deck[0]), float(deck[1]), float(deck[2])))

    def realtime_factor(self) -> float:
        """Simulated seconds per wall second spent stepping the physics."""
        return self.t_s / self.wall_step_s if self.wall_step_s > 0 else float('inf')
