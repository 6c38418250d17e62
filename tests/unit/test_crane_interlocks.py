"""crane.interlocks: every rule refuses with its name and a reason that says why, and allows what is safe."""
import numpy as np
import pytest

from smartgate_core.crane import interlocks as rules
from smartgate_core.crane.interface import CameraFrame, CraneSensors, VehicleReport
from smartgate_core.crane.interlocks import InterlockParams

P = InterlockParams()
FRESH = {'encoders': 10.0, 'sway': 10.0, 'load': 10.0, 'switches': 10.0}


def sensors(locked=(True, True, True, True), landed=False, payload_kg=20000.0, stamps=FRESH):
    return CraneSensors(10.0, 0.0, 0.0, 10.0, 0.0, 12.192, 0.0, 0.0, 0.0, 0.0, 0.0, payload_kg, locked, landed,
                        dict(stamps))


def report(**kw):
    values = dict(vehicle_id='igv_01', t_s=10.0, x_m=0.02, y_m=-0.01, yaw_rad=0.003, speed_mps=0.0, held=True)
    values.update(kw)
    return VehicleReport(**values)


def test_estop():
    assert rules.estop(False) is None
    assert rules.estop(True).rule == 'estop'


def test_a_stale_sensor_is_named():
    assert rules.sensors_fresh(sensors(), 10.2, P) is None
    refusal = rules.sensors_fresh(sensors(stamps={**FRESH, 'load': 9.0}), 10.2, P)
    assert refusal.rule == 'stale_sensor' and 'load' in refusal.reason and '1.20 s' in refusal.reason
    assert 'never' in rules.sensors_fresh(sensors(stamps={'encoders': 10.0}), 10.0, P).reason


@pytest.mark.parametrize('change, words', [
    (dict(vehicle_id='igv_02'), 'no report'),
    (dict(t_s=9.0), 'old'),
    (dict(held=False), 'held'),
    (dict(speed_mps=0.05), 'moving'),
    (dict(x_m=0.15), 'from the stop point'),
    (dict(y_m=-0.12), 'from the stop point'),
    (dict(yaw_rad=0.02), 'heading'),
])
def test_vehicle_must_stand_held_at_the_stop_point(change, words):
    assert rules.vehicle_at_stop(report(), 'igv_01', 10.1, P) is None
    refusal = rules.vehicle_at_stop(report(**change), 'igv_01', 10.1, P)
    assert refusal.rule == 'vehicle_at_stop' and words in refusal.reason
    assert rules.vehicle_at_stop(None, 'igv_01', 10.1, P).rule == 'vehicle_at_stop'


def test_no_hoist_without_four_locks_and_the_declared_mass():
    assert rules.may_hoist(sensors(), 20500.0, 20000.0, 32500.0, P) is None
    refusal = rules.may_hoist(sensors(locked=(True, False, True, True)), 20000.0, 20000.0, 32500.0, P)
    assert refusal.rule == 'twistlocks' and 'twistlock 1 not locked' in refusal.reason
    heavy = rules.may_hoist(sensors(), 21100.0, 20000.0, 32500.0, P)
    assert heavy.rule == 'vgm' and '21.10 t' in heavy.reason and '20.00 t' in heavy.reason
    light = rules.may_hoist(sensors(), 18900.0, 20000.0, 32500.0, P)
    assert light.rule == 'vgm'
    assert rules.may_hoist(sensors(), 34000.0, 34000.0, 32500.0, P).rule == 'overload'


def test_never_unlock_a_box_in_the_air():
    assert rules.may_unlock(sensors(landed=True, payload_kg=-9800.0), 20000.0, P) is None
    hanging = rules.may_unlock(sensors(landed=True, payload_kg=19800.0), 20000.0, P)
    assert hanging.rule == 'unlock_in_air' and '19.8 t' in hanging.reason
    assert rules.may_unlock(sensors(landed=False, payload_kg=-9800.0), 20000.0, P).rule == 'unlock_in_air'


def test_no_lowering_with_sway_above_the_limit():
    assert rules.sway_below_limit(0.049, P) is None
    assert rules.sway_below_limit(0.08, P).rule == 'sway'


def test_camera_frames_must_bring_images_in_time():
    image = np.zeros((4, 4, 3), np.uint8)
    good = {name: CameraFrame(name, 10.02, image, 12.192) for name in ('cam_fwd', 'cam_aft')}
    assert rules.camera_frames(good, 10.0, 10.02, P) is None
    assert rules.camera_frames(None, 10.0, 10.5, P) is None                     # still within the timeout
    lost = dict(good, cam_aft=CameraFrame('cam_aft', 10.02, None, 12.192))
    refusal = rules.camera_frames(lost, 10.0, 10.02, P)
    assert refusal.rule == 'camera' and 'cam_aft' in refusal.reason
    assert rules.camera_frames(None, 10.0, 11.5, P).rule == 'camera'
    old = {name: CameraFrame(name, 9.0, image, 12.192) for name in good}
    assert rules.camera_frames(old, 10.0, 11.5, P).rule == 'camera'
