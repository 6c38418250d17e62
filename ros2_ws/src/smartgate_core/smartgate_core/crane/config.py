"""config/crane.yaml -> the parameter records (keys `group.field`, as the crane node declares them)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .control import ControlParams
from .cycle import CycleParams
from .interlocks import InterlockParams
from .layout import BayLayout, BayParams, CameraParams, default_layout
from .params import CraneParams
from .physics import PhysicsParams

GROUPS = {'crane': CraneParams, 'physics': PhysicsParams, 'control': ControlParams, 'cycle': CycleParams,
          'interlock': InterlockParams, 'bay': BayParams, 'camera': CameraParams}


@dataclass(frozen=True)
class CraneConfig:
    crane: CraneParams = field(default_factory=CraneParams)
    physics: PhysicsParams = field(default_factory=PhysicsParams)
    control: ControlParams = field(default_factory=ControlParams)
    cycle: CycleParams = field(default_factory=CycleParams)
    interlock: InterlockParams = field(default_factory=InterlockParams)
    bay: BayParams = field(default_factory=BayParams)
    camera: CameraParams = field(default_factory=CameraParams)
    layout: BayLayout = field(default_factory=default_layout)


def load_config(path: str | Path) -> CraneConfig:
    """Read a crane parameter file; a key that no record has is an error (typos do not pass silently)."""
    values = yaml.safe_load(Path(path).read_text())['/**']['ros__parameters']
    groups = {name: {} for name in GROUPS}
    for key, value in values.items():
        if key == 'bay_slots_m':
            continue
        group, _, name = key.partition('.')
        cls = GROUPS.get(group)
        if cls is None or name not in {f.name for f in dataclasses.fields(cls)}:
            raise KeyError(f'{path}: unknown crane parameter {key!r}')
        groups[group][name] = tuple(value) if isinstance(value, list) else value
    records = {name: GROUPS[name](**kw) for name, kw in groups.items()}
    slots = values.get('bay_slots_m')
    layout = default_layout([tuple(s) for s in slots], records['bay']) if slots else default_layout(bay=records['bay'])
    return CraneConfig(layout=layout, **records)
