"""The SmartGate simulation stack as the supervisor starts it, and the checks done before it starts.

Mirrors launch/demo.launch.py (for full ROS 2 installs): the same executables, node names and
parameter files. Every configuration error is found here, before any process starts, and named
with its file and field.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from ament_index_python.packages import PackageNotFoundError, get_package_prefix

from smartgate_core.lane_map import MapError, load_map


class ConfigurationError(ValueError):
    """The demo cannot start with this configuration; the message names the file and field."""


WORLD, VEHICLE = 'world', 'vehicle'


@dataclass(frozen=True)
class NodeSpec:
    name: str
    package: str
    executable: str
    scope: str                # WORLD: one per run; VEHICLE: one per vehicle, in its namespace

    @property
    def namespaced(self) -> bool:
        return self.scope != WORLD


STACK = (
    NodeSpec('map_server', 'smartgate_navigation', 'map_server', WORLD),
    NodeSpec('world_sim', 'smartgate_simulation', 'world_sim', WORLD),
    NodeSpec('localization', 'smartgate_localization', 'localization_node', VEHICLE),
    NodeSpec('route_follower', 'smartgate_navigation', 'route_follower', VEHICLE),
)


@dataclass
class Leg:
    route_id: str
    precise_stop: bool
    dwell_s: float


@dataclass
class DemoConfig:
    root: Path
    source: Path
    map_file: Path
    gnb_sites_file: Path
    vehicle_id: str
    vehicle: dict
    real_time_factor: float
    sim_timeout_s: float
    startup_timeout_s: float
    legs: list
    param_files: dict = field(default_factory=dict)   # node name -> Path


def read_yaml(path: Path, what: str):
    try:
        return yaml.safe_load(Path(path).read_text(encoding='utf-8'))
    except FileNotFoundError:
        raise ConfigurationError(f'{path}: {what} not found') from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f'{path}: cannot read {what} ({exc})') from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        where = f' at line {mark.line + 1}, column {mark.column + 1}' if mark else ''
        raise ConfigurationError(f'{path}: {what} is not valid YAML{where}') from None


def _field(doc, key, typ, source, check=None, why=''):
    value = doc.get(key) if isinstance(doc, dict) else None
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, typ) or isinstance(value, bool) and typ is not bool or \
            (check is not None and not check(value)):
        raise ConfigurationError(f"{source}: field '{key}' is missing or invalid ({value!r}); {why}".rstrip('; '))
    return value


def check_param_file(path: Path, node: str):
    """A ROS 2 parameter file: YAML whose top level maps node names ('/**' too) to ros__parameters."""
    doc = read_yaml(path, f'parameter file of {node}')
    if not isinstance(doc, dict) or not doc:
        raise ConfigurationError(f'{path}: parameter file of {node} must map node names to ros__parameters')
    for key, value in doc.items():
        if not isinstance(value, dict) or not isinstance(value.get('ros__parameters'), dict):
            raise ConfigurationError(f"{path}: entry '{key}' has no 'ros__parameters' mapping")


def load_demo_config(root: Path, config_path: Path, vehicle_id=None, route_ids=None, param_overrides=None,
                     real_time_factor=None):
    """Read and check config/demo.yaml and everything it names; return (DemoConfig, LaneMap)."""
    root = Path(root)
    doc = read_yaml(config_path, 'demo configuration')
    src = config_path
    map_file = root / _field(doc, 'map_file', str, src)
    try:
        lane_map = load_map(map_file)
    except MapError as exc:
        raise ConfigurationError(str(exc)) from None
    sites_path = root / _field(doc, 'gnb_sites_file', str, src)
    try:
        lane_map.gnb_sites(sites_path)
    except MapError as exc:
        raise ConfigurationError(str(exc)) from None
    fleet_path = root / _field(doc, 'fleet_file', str, src)
    fleet = read_yaml(fleet_path, 'fleet file')
    vehicles = fleet.get('vehicles') if isinstance(fleet, dict) else None
    if not isinstance(vehicles, dict) or not vehicles:
        raise ConfigurationError(f"{fleet_path}: field 'vehicles' must map vehicle ids to their settings")
    vehicle_id = vehicle_id or _field(doc, 'vehicle_id', str, src)
    if vehicle_id not in vehicles:
        raise ConfigurationError(f"unknown vehicle id '{vehicle_id}': not in {fleet_path} "
                                 f"(known: {', '.join(sorted(vehicles))})")
    vehicle = vehicles[vehicle_id]
    where = f'{fleet_path}: vehicles.{vehicle_id}'
    start = _field(vehicle, 'start_node_id', str, where)
    if start not in lane_map.features or lane_map.features[start].kind != 'route_node':
        raise ConfigurationError(f"{where}: start_node_id '{start}' is not a route_node of {map_file.name}")
    _field(vehicle, 'payload_kg', float, where, lambda v: 0.0 <= v <= 80000.0, 'expected 0..80000 kg')
    _field(vehicle, 'seed', int, where)
    rtf = real_time_factor or _field(doc, 'real_time_factor', float, src, lambda v: 0.05 <= v <= 20.0,
                                     'expected 0.05..20')
    legs_doc = _field(doc, 'legs', list, src, lambda v: len(v) > 0, 'expected a list of legs')
    if route_ids:
        legs_doc = [{'route_id': r, 'precise_stop': True, 'dwell_s': 0.0} for r in route_ids]
    legs = []
    for i, leg in enumerate(legs_doc):
        lw = '--route' if route_ids else f'{src}: legs[{i}]'
        rid = _field(leg, 'route_id', str, lw)
        if rid not in lane_map.route_ids:
            raise ConfigurationError(f"unknown route id '{rid}' ({lw}); routes of {map_file.name}: "
                                     f"{', '.join(lane_map.route_ids)}")
        legs.append(Leg(rid, bool(leg.get('precise_stop', True)),
                        _field(leg, 'dwell_s', float, lw, lambda v: 0.0 <= v <= 600.0, 'expected 0..600 s')))
    cfg = DemoConfig(root, Path(config_path), map_file, sites_path, vehicle_id, vehicle, rtf,
                     _field(doc, 'sim_timeout_s', float, src, lambda v: v > 0 and math.isfinite(v)),
                     _field(doc, 'startup_timeout_s', float, src, lambda v: v > 0 and math.isfinite(v)), legs)
    overrides = dict(param_overrides or {})
    unknown = set(overrides) - {n.name for n in STACK}
    if unknown:
        raise ConfigurationError(f"--param-file names unknown node(s) {', '.join(sorted(unknown))}; "
                                 f"nodes: {', '.join(n.name for n in STACK)}")
    for spec in STACK:
        path = Path(overrides.get(spec.name, root / 'config' / f'{spec.name}.param.yaml'))
        check_param_file(path, spec.name)
        cfg.param_files[spec.name] = path
    return cfg, lane_map


def executable_path(spec: NodeSpec) -> str:
    """Where colcon installed a node's console script (as `ros2 run` finds it)."""
    try:
        prefix = Path(get_package_prefix(spec.package))
    except PackageNotFoundError:
        raise ConfigurationError(f'package {spec.package} is not built: run make setup') from None
    exe = prefix / 'lib' / spec.package / spec.executable
    if not exe.exists():
        raise ConfigurationError(f'{exe}: executable of {spec.name} not found: run make setup')
    return str(exe)


def node_argv(spec: NodeSpec, cfg: DemoConfig):
    """Command line of one node: its parameter file plus the run's required parameters."""
    argv = [executable_path(spec), '--ros-args', '-r', f'__node:={spec.name}',
            '--params-file', str(cfg.param_files[spec.name]), '-p', f'map_file:={cfg.map_file}']
    if spec.namespaced:
        argv += ['-r', f'__ns:=/{cfg.vehicle_id}', '-p', f'vehicle_id:={cfg.vehicle_id}']
    v = cfg.vehicle
    if spec.name == 'route_follower':
        argv += ['-p', f"payload_kg:={float(v['payload_kg'])}"]
    if spec.name in ('world_sim', 'localization'):
        argv += ['-p', f'gnb_sites_file:={cfg.gnb_sites_file}']
    if spec.name == 'world_sim':
        vid = cfg.vehicle_id
        argv += ['-p', f'vehicle_ids:=[{vid}]', '-p', f"{vid}.start_node_id:={v['start_node_id']}",
                 '-p', f"{vid}.seed:={v['seed']}", '-p', f"{vid}.payload_kg:={float(v['payload_kg'])}",
                 '-p', f'real_time_factor:={cfg.real_time_factor}']
    return argv
