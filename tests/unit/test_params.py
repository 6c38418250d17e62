"""params: every tunable parameter carries a description, with its unit in brackets where it has one
(ROS nodes declare them from these descriptions)."""
import dataclasses
import importlib
import pkgutil
import re

import pytest

import smartgate_core
from smartgate_core.driving.controller import ControllerParams
from smartgate_core.localization.estimator import EstimatorParams
from smartgate_core.params import described_fields, doc
from smartgate_core.simulation.sensors import GnssParams, ImuParams, OdometryParams
from smartgate_core.simulation.vehicle import SimRates
from smartgate_core.simulation.vehicle_model import VehicleParams

REQUIRED = [VehicleParams, GnssParams, OdometryParams, ImuParams, EstimatorParams, ControllerParams, SimRates]

# name suffix -> the unit its description must give in brackets
UNIT_OF_SUFFIX = {
    '_m': '[m]', '_s': '[s', '_mps': '[m/s]', '_mps2': '[m/s^2]', '_mps3': '[m/s^3]', '_rad': '[rad]',
    '_radps': '[rad/s]', '_hz': '[Hz', '_kg': '[kg]', '_n': '[N]', '_1pm': '[1/m]', '_1ps': '[1/s]',
}


def parameter_classes():
    """The required classes plus every other *Params / *Rates dataclass of the core package."""
    found = {c.__name__: c for c in REQUIRED}
    for info in pkgutil.walk_packages(smartgate_core.__path__, 'smartgate_core.'):
        if info.name == 'smartgate_core.plot':
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if isinstance(obj, type) and dataclasses.is_dataclass(obj) and re.search(r'(Params|Rates)$', name) \
                    and obj.__module__ == module.__name__:
                found[name] = obj
    return [found[k] for k in sorted(found)]


PARAMETER_FIELDS = [(cls.__name__, name, default, description)
                    for cls in parameter_classes() for name, default, description in described_fields(cls)]


def test_the_required_classes_are_checked():
    names = {row[0] for row in PARAMETER_FIELDS}
    assert {c.__name__ for c in REQUIRED} <= names
    assert len(PARAMETER_FIELDS) >= 55


@pytest.mark.parametrize('cls, name, default, description', PARAMETER_FIELDS,
                         ids=[f'{r[0]}.{r[1]}' for r in PARAMETER_FIELDS])
def test_every_parameter_is_described_with_its_unit(cls, name, default, description):
    assert default is not dataclasses.MISSING, f'{cls}.{name} has no default'
    assert description.strip(), f'{cls}.{name} has no description'
    for suffix, unit in UNIT_OF_SUFFIX.items():
        if name.endswith(suffix):
            assert unit in description, f'{cls}.{name}: description {description!r} does not give {unit}'
    if name.endswith('_radps2'):            # a random-walk density, [rad/s/sqrt(s)]
        assert re.search(r'\[rad/s[^\]]*\]', description), f'{cls}.{name}: no unit in brackets'


def test_doc_and_described_fields():
    """doc() stores the default and the description; described_fields() returns them in field order."""
    @dataclasses.dataclass(frozen=True)
    class Example:
        gain_1ps: float = doc(0.5, 'a gain [1/s]')
        plain: int = 3

    assert Example().gain_1ps == 0.5
    assert described_fields(Example) == [('gain_1ps', 0.5, 'a gain [1/s]'), ('plain', 3, '')]
