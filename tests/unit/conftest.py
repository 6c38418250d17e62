"""Fixtures of the core unit tests: the real lane map, loaded once per session (no ROS anywhere)."""
from pathlib import Path

import pytest

from smartgate_core.lane_map import load_map

MAP_FILE = Path(__file__).resolve().parents[2] / 'maps' / 'moc_1119_1120.geojson'


@pytest.fixture(scope='session')
def real_map_file():
    return MAP_FILE


@pytest.fixture(scope='session')
def real_map():
    """The pilot map moc_1119_1120 (read-only: tests must not mutate it)."""
    return load_map(MAP_FILE)
