"""config/*.param.yaml against the core's parameter classes: the nodes run what the benchmarks measure.

A node declares `<prefix>.<field>` for every field of a core parameter class, with the dataclass
default as its default; its parameter file sets each of them. A file that leaves one out, or gives
another value than the core's default, makes the node run a different vehicle, filter or controller
than the fleet-scale simulator and the benchmarks do.
"""
import dataclasses
from pathlib import Path

import pytest
import yaml

from smartgate_core.driving.controller import ControllerParams
from smartgate_core.driving.safety import SafetyParams
from smartgate_core.localization.estimator import EstimatorParams
from smartgate_core.localization.localizer import LocalizerParams
from smartgate_core.simulation.disturbances import DisturbanceParams
from smartgate_core.simulation.sensors import FiveGParams, GnssParams, ImuParams, OdometryParams, RangeParams
from smartgate_core.simulation.vehicle import SimRates
from smartgate_core.simulation.vehicle_model import VehicleParams

REPO = Path(__file__).resolve().parents[2]

SECTIONS = {
    'world_sim': {'vehicle': VehicleParams, 'rates': SimRates, 'gnss': GnssParams, 'odometry': OdometryParams,
                    'imu': ImuParams, 'range': RangeParams, 'fiveg': FiveGParams, 'disturbances': DisturbanceParams},
    'localization': {'estimator': EstimatorParams, 'localizer': LocalizerParams},
    'route_follower': {'controller': ControllerParams, 'safety': SafetyParams},
}
CASES = [(node, prefix, cls) for node, sections in SECTIONS.items() for prefix, cls in sections.items()]


@pytest.mark.parametrize('node, prefix, cls', CASES, ids=[f'{n}.{p}' for n, p, _ in CASES])
def test_parameter_file_sets_every_field_to_the_core_default(node, prefix, cls):
    params = yaml.safe_load((REPO / 'config' / f'{node}.param.yaml').read_text())['/**']['ros__parameters']
    for field in dataclasses.fields(cls):
        key = f'{prefix}.{field.name}'
        assert key in params, f'config/{node}.param.yaml does not set {key}'
        default = list(field.default) if isinstance(field.default, tuple) else field.default
        assert params[key] == pytest.approx(default), (f'config/{node}.param.yaml: {key} is {params[key]!r}, '
                                                        f'the core default is {default!r}')
    stray = {k for k in params if k.startswith(f'{prefix}.')} - {f'{prefix}.{f.name}' for f in dataclasses.fields(cls)}
    assert not stray, f'config/{node}.param.yaml sets {sorted(stray)}, which {cls.__name__} does not have'
