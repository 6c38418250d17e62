"""Bad input to `smartgate`: a clear error naming the file or field, a non-zero exit, nothing left running."""
import json
import os
import shutil
import subprocess

import pytest

from .conftest import REPO, running_node_processes


def smartgate(*args, timeout=120):
    return subprocess.run(['smartgate', *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          cwd=REPO, env=dict(os.environ))


@pytest.fixture
def config_copy(tmp_path):
    """A copy of config/demo.yaml whose map and fleet files live in tmp_path."""
    shutil.copy(REPO / 'maps' / 'moc_1119_1120.geojson', tmp_path / 'map.geojson')
    shutil.copy(REPO / 'config' / 'fleet.yaml', tmp_path / 'fleet.yaml')
    text = (REPO / 'config' / 'demo.yaml').read_text()
    text = text.replace('maps/moc_1119_1120.geojson', str(tmp_path / 'map.geojson'))
    text = text.replace('config/fleet.yaml', str(tmp_path / 'fleet.yaml'))
    shutil.copy(REPO / 'config' / 'gnb_sites.yaml', tmp_path / 'gnb_sites.yaml')
    text = text.replace('config/gnb_sites.yaml', str(tmp_path / 'gnb_sites.yaml'))
    (tmp_path / 'demo.yaml').write_text(text)
    return tmp_path


def assert_refused(proc, *needles, code=2):
    assert proc.returncode == code, proc.stdout + proc.stderr
    for needle in needles:
        assert needle in proc.stderr, f'{needle!r} not in: {proc.stderr}'
    assert not running_node_processes()


def test_malformed_map_names_the_file(config_copy, ros_domain):
    (config_copy / 'map.geojson').write_text('{"type": "FeatureCollection", "features": [')
    proc = smartgate('demo', '--config', config_copy / 'demo.yaml', '--output', config_copy / 'out')
    assert_refused(proc, 'map.geojson', 'not valid JSON', 'nothing was started')


def test_map_with_a_bad_feature_names_the_feature(config_copy, ros_domain):
    doc = json.loads((config_copy / 'map.geojson').read_text())
    edge = next(f for f in doc['features'] if f['properties']['kind'] == 'route_edge')
    edge['geometry']['coordinates'][0] = [106.8, 21.9]          # kilometres from its node
    (config_copy / 'map.geojson').write_text(json.dumps(doc))
    proc = smartgate('check-map', config_copy / 'map.geojson')
    assert_refused(proc, 'map.geojson', edge['properties']['id'])


def test_unknown_route_and_vehicle_are_named(ros_domain):
    assert_refused(smartgate('demo', '--route', 'moc1119_to_nowhere'), "unknown route id 'moc1119_to_nowhere'",
                   'moc1119_export_yard_to_crane')
    assert_refused(smartgate('demo', '--vehicle', 'igv_99'), "unknown vehicle id 'igv_99'", 'fleet.yaml', 'igv_01')


def test_missing_or_malformed_parameter_file_is_named(tmp_path, ros_domain):
    assert_refused(smartgate('demo', '--param-file', f'route_follower={tmp_path / "nope.yaml"}'),
                   'nope.yaml', 'not found')
    (tmp_path / 'flat.yaml').write_text('control_rate_hz: 20.0\n')
    assert_refused(smartgate('demo', '--param-file', f'route_follower={tmp_path / "flat.yaml"}'),
                   'flat.yaml', "'control_rate_hz' has no 'ros__parameters'")
    (tmp_path / 'broken.yaml').write_text('/**:\n  ros__parameters: [\n')
    assert_refused(smartgate('demo', '--param-file', f'localization={tmp_path / "broken.yaml"}'),
                   'broken.yaml', 'not valid YAML')
    assert_refused(smartgate('demo', '--param-file', f'planner={tmp_path / "flat.yaml"}'), 'unknown node')


def test_wrong_parameter_type_stops_the_whole_stack(tmp_path, ros_domain):
    """The file parses, but a node refuses a value: the demo names node and parameter, stops everything."""
    text = (REPO / 'config' / 'route_follower.param.yaml').read_text()
    (tmp_path / 'rf.yaml').write_text(text.replace('control_rate_hz: 20.0', 'control_rate_hz: fast'))
    proc = smartgate('demo', '--param-file', f'route_follower={tmp_path / "rf.yaml"}', '--output', tmp_path / 'out')
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'node route_follower exited' in proc.stdout and 'control_rate_hz' in proc.stdout
    summary = json.loads((tmp_path / 'out' / 'summary.json').read_text())
    assert summary['route_completed'] is False and 'control_rate_hz' in summary['failure']
    assert not running_node_processes()
