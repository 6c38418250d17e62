"""Conversions between ROS messages and the core's plain numbers (REP 103: metres, radians)."""
from __future__ import annotations

import math

from builtin_interfaces.msg import Duration, Time
from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from geometry_msgs.msg import Quaternion


def yaw_to_quaternion(yaw_rad: float) -> Quaternion:
    return Quaternion(x=0.0, y=0.0, z=math.sin(yaw_rad / 2.0), w=math.cos(yaw_rad / 2.0))


def quaternion_to_yaw(q) -> float:
    return math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))


def to_seconds(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def to_time(t_s: float) -> Time:
    sec = math.floor(t_s)
    return Time(sec=int(sec), nanosec=min(int(round((t_s - sec) * 1e9)), 999_999_999))


def to_duration(t_s: float) -> Duration:
    t = to_time(max(0.0, t_s))
    return Duration(sec=t.sec, nanosec=t.nanosec)


def all_finite(*values) -> bool:
    return all(math.isfinite(v) for v in values)


def diagnostic(name, hardware_id, level, message, values) -> DiagnosticStatus:
    """A DiagnosticStatus with `values` (a dict) as key/value strings."""
    return DiagnosticStatus(level=level, name=name, hardware_id=hardware_id, message=message,
                            values=[KeyValue(key=k, value=str(v)) for k, v in values.items()])
