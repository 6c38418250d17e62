"""Interlocks: each a named rule over what the crane's own sensors and the vehicle's report say, returning
None (allowed) or a Refusal with the reason. The cycle executor consults them; tests inject each
violation and check the refusal."""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..params import doc
from .interface import SENSOR_GROUPS, CraneSensors, VehicleReport


@dataclass(frozen=True)
class InterlockParams:
    vehicle_tolerance_m: float = doc(0.10, 'the vehicle must stand this close to the stop point, along and across [m]')
    vehicle_tolerance_rad: float = doc(0.01, '... and this close to its heading [rad]')
    vehicle_standstill_mps: float = doc(0.01, '... and slower than this [m/s]')
    vehicle_report_timeout_s: float = doc(0.5, 'a vehicle report older than this is no report [s]')
    sensor_timeout_s: float = doc(0.5, 'an encoder, sway, load or switch reading older than this is stale [s]')
    camera_timeout_s: float = doc(1.0, 'a requested camera frame must arrive within this [s]')
    vgm_tolerance: float = doc(0.05, 'load cell against the declared gross mass (SOLAS VGM), as a fraction')
    slack_fraction: float = doc(0.2, 'a box has landed when the ropes carry less than this fraction of it')
    sway_limit_m: float = doc(0.05, 'no lowering onto a target with more sway than this [m]')


@dataclass(frozen=True)
class Refusal:
    rule: str
    reason: str


def estop(active: bool) -> Refusal | None:
    """Emergency stop: everything stops where it is."""
    return Refusal('estop', 'emergency stop') if active else None


def sensors_fresh(sensors: CraneSensors, t_s: float, params: InterlockParams) -> Refusal | None:
    """Every sensor group must have updated recently; a frozen sensor stops the crane."""
    for group in SENSOR_GROUPS:
        stamp = sensors.stamps.get(group)
        if stamp is None or t_s - stamp > params.sensor_timeout_s:
            age = 'never' if stamp is None else f'{t_s - stamp:.2f} s ago'
            return Refusal('stale_sensor', f'{group} sensor stopped updating (last {age})')
    return None


def vehicle_at_stop(report: VehicleReport | None, vehicle_id: str, t_s: float,
                    params: InterlockParams) -> Refusal | None:
    """Lower onto a vehicle only if it reports standing at this bay's stop point, within tolerance, held."""
    if report is None or report.vehicle_id != vehicle_id:
        return Refusal('vehicle_at_stop', f'no report from vehicle {vehicle_id}')
    if t_s - report.t_s > params.vehicle_report_timeout_s:
        return Refusal('vehicle_at_stop', f'vehicle {vehicle_id} report is {t_s - report.t_s:.2f} s old')
    if not report.held:
        return Refusal('vehicle_at_stop', f'vehicle {vehicle_id} does not confirm it is held for the crane')
    if abs(report.speed_mps) > params.vehicle_standstill_mps:
        return Refusal('vehicle_at_stop', f'vehicle {vehicle_id} is moving at {report.speed_mps:.3f} m/s')
    off = math.hypot(report.x_m, report.y_m)
    if abs(report.x_m) > params.vehicle_tolerance_m or abs(report.y_m) > params.vehicle_tolerance_m:
        return Refusal('vehicle_at_stop', f'vehicle {vehicle_id} stands {off:.3f} m from the stop point')
    if abs(report.yaw_rad) > params.vehicle_tolerance_rad:
        return Refusal('vehicle_at_stop', f'vehicle {vehicle_id} is {math.degrees(report.yaw_rad):.2f} deg off heading')
    return None


def all_locked(sensors: CraneSensors) -> Refusal | None:
    """All four twistlocks must report locked before a box is lifted."""
    open_ = [i for i, locked in enumerate(sensors.locked) if not locked]
    if open_:
        return Refusal('twistlocks', f'twistlock {", ".join(str(i) for i in open_)} not locked')
    return None


def may_hoist(sensors: CraneSensors, measured_kg: float, declared_kg: float, max_payload_kg: float,
              params: InterlockParams) -> Refusal | None:
    """Hoist a box beyond its weighing lift only when all four twistlocks are locked and the load cell
    agrees with the declared gross mass (and the crane's rating)."""
    refusal = all_locked(sensors)
    if refusal:
        return refusal
    if measured_kg > max_payload_kg:
        return Refusal('overload', f'load {measured_kg / 1000:.1f} t exceeds the rated {max_payload_kg / 1000:.1f} t')
    if abs(measured_kg - declared_kg) > params.vgm_tolerance * declared_kg:
        return Refusal('vgm', f'load cell {measured_kg / 1000:.2f} t against declared {declared_kg / 1000:.2f} t '
                              f'(beyond {100 * params.vgm_tolerance:.0f} %)')
    return None


def has_landed(sensors: CraneSensors, declared_kg: float, params: InterlockParams) -> bool:
    """The box stands on something: the landing pins are pressed and the ropes no longer carry it (a
    locked box keeps the pins pressed while it hangs, so the slack ropes decide)."""
    return sensors.landed and sensors.payload_kg < params.slack_fraction * declared_kg


def may_unlock(sensors: CraneSensors, declared_kg: float, params: InterlockParams) -> Refusal | None:
    """Never unlock a box that has not landed."""
    if not has_landed(sensors, declared_kg, params):
        return Refusal('unlock_in_air', f'box not landed (pins {"pressed" if sensors.landed else "free"}, '
                                        f'ropes carry {sensors.payload_kg / 1000:.1f} t)')
    return None


def sway_below_limit(amplitude_m: float, params: InterlockParams) -> Refusal | None:
    """No final lowering while the spreader sways more than the limit."""
    if amplitude_m > params.sway_limit_m:
        return Refusal('sway', f'sway {amplitude_m:.3f} m above the {params.sway_limit_m:.3f} m limit before lowering')
    return None


def camera_frames(frames: dict | None, requested_s: float, t_s: float, params: InterlockParams) -> Refusal | None:
    """A requested capture must bring an image from every camera within the timeout."""
    fresh = {name: f for name, f in (frames or {}).items() if f.t_s >= requested_s}
    blind = sorted(name for name, f in fresh.items() if f.image is None)
    if blind:
        return Refusal('camera', f'camera lost: no image from {", ".join(blind)}')
    if not fresh and t_s - requested_s > params.camera_timeout_s:
        return Refusal('camera', f'camera lost: no frame {params.camera_timeout_s:.1f} s after the request')
    return None
