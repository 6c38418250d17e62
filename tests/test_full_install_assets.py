"""Checks of the assets for a full ROS 2 install: URDF, Gazebo world, ros_gz bridge, RViz config
and launch files. None of them can run here, so each is loaded by the parser a full install would
use (urdfdom's check_urdf, sdformat's `ign sdf -k`) or checked statically (YAML, Python ast)."""
import ast
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
URDF = REPO / 'urdf' / 'smartgate_igv.urdf'
WORLD = REPO / 'sim' / 'worlds' / 'moc_1119_1120.sdf'
BRIDGE = REPO / 'config' / 'ros_gz_bridge.yaml'
RVIZ = REPO / 'config' / 'smartgate.rviz'
LAUNCH = REPO / 'launch'

# Packages a launch file may use that are not in ros2_ws/src (a full ROS 2 install has them).
EXTERNAL_PACKAGES = {'rviz2', 'ros_gz_bridge', 'ros_gz_sim', 'robot_state_publisher'}

IGV_LINKS = {
    'base_link', 'chassis', 'rear_left_wheel', 'rear_right_wheel',
    'front_left_steering_link', 'front_left_wheel',
    'front_right_steering_link', 'front_right_wheel',
    'gnss_link', 'imu_link', 'container_link',
}

# ROS type -> gz type pairs that ros_gz_bridge converts.
BRIDGE_TYPES = {
    'rosgraph_msgs/msg/Clock': 'gz.msgs.Clock',
    'sensor_msgs/msg/NavSatFix': 'gz.msgs.NavSat',
    'sensor_msgs/msg/Imu': 'gz.msgs.IMU',
    'nav_msgs/msg/Odometry': 'gz.msgs.Odometry',
    'sensor_msgs/msg/JointState': 'gz.msgs.Model',
}


def run_tool(tool, *args):
    """Run a Debian tool; skip when it is missing (`make test`'s setup installs it)."""
    if shutil.which(tool) is None:
        pytest.skip(f'{tool} is not installed; scripts/setup.sh installs it')
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=120)


# --- URDF ----------------------------------------------------------------------------------------

def test_urdf_passes_check_urdf_with_expected_tree():
    result = run_tool('check_urdf', str(URDF))
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'robot name is: smartgate_igv' in result.stdout
    assert re.search(r'^root Link: base_link ', result.stdout, re.MULTILINE)
    children = set(re.findall(r'child\(\d+\):\s+(\S+)', result.stdout))
    assert children | {'base_link'} == IGV_LINKS


def test_check_urdf_rejects_a_broken_urdf(tmp_path):
    broken = tmp_path / 'broken.urdf'
    text = URDF.read_text().replace('<child link="gnss_link"/>', '<child link="no_such_link"/>')
    broken.write_text(text)
    assert run_tool('check_urdf', str(broken)).returncode != 0


def test_urdf_loads_in_sdformat():
    """gz-sim reads the URDF through sdformat, <gazebo> sensors and plugins included."""
    result = run_tool('ign', 'sdf', '-k', str(URDF))
    assert result.returncode == 0, result.stdout + result.stderr


def test_urdf_geometry_and_mass():
    robot = ET.parse(URDF).getroot()
    joints = {j.get('name'): j for j in robot.iter('joint')}

    def xyz(joint):
        return [float(v) for v in joints[joint].find('origin').get('xyz').split()]

    assert xyz('rear_left_wheel_joint') == [0.0, 1.2, 0.55]
    assert xyz('front_right_steering_joint') == [9.0, -1.2, 0.55]
    assert xyz('gnss_joint') == [9.5, 0.0, 4.5]
    assert xyz('imu_joint') == [4.5, 0.0, 1.0]
    for side in ('left', 'right'):
        assert joints[f'front_{side}_steering_joint'].get('type') == 'revolute'
        limit = joints[f'front_{side}_steering_joint'].find('limit')
        assert (float(limit.get('lower')), float(limit.get('upper'))) == (-0.524, 0.524)
    assert {joints[f'{axle}_{side}_wheel_joint'].get('type')
            for axle in ('front', 'rear') for side in ('left', 'right')} == {'continuous'}

    masses = [float(m.get('value')) for m in robot.iter('mass')]
    assert 24_000 <= sum(masses) <= 26_000  # empty IGV ~25 t
    for inertia in robot.iter('inertia'):
        ixx, iyy, izz = (float(inertia.get(k)) for k in ('ixx', 'iyy', 'izz'))
        assert min(ixx, iyy, izz) > 0  # and the triangle inequality of a physical body:
        assert ixx + iyy >= izz and iyy + izz >= ixx and izz + ixx >= iyy


# --- Gazebo world --------------------------------------------------------------------------------

def test_world_passes_sdformat_check():
    result = run_tool('ign', 'sdf', '-k', str(WORLD))
    assert result.returncode == 0, result.stdout + result.stderr


def test_sdformat_check_rejects_a_broken_world(tmp_path):
    broken = tmp_path / 'broken.sdf'
    text = WORLD.read_text()
    assert text.count('<model name="crane_portal">') == 1
    broken.write_text(text.replace('<model name="crane_portal">', '<model name="road">'))
    assert run_tool('ign', 'sdf', '-k', str(broken)).returncode != 0


def test_world_content():
    text = WORLD.read_text()
    assert 'ILLUSTRATIVE, NOT SURVEYED' in text.split('<sdf')[0]
    world = ET.fromstring(text).find('world')
    coords = world.find('spherical_coordinates')
    assert coords.findtext('world_frame_orientation') == 'ENU'
    assert (float(coords.findtext('latitude_deg')), float(coords.findtext('longitude_deg')),
            float(coords.findtext('elevation'))) == (21.96, 106.702, 250.0)
    systems = {p.get('name').rsplit('::', 1)[-1] for p in world.findall('plugin')}
    assert {'Physics', 'UserCommands', 'SceneBroadcaster', 'Sensors', 'Imu', 'NavSat'} <= systems
    models = {m.get('name') for m in world.findall('model')}
    assert {'ground_plane', 'road', 'yard_slab', 'crane_portal', 'km0_border_line'} <= models


# --- ros_gz_bridge -------------------------------------------------------------------------------

def test_bridge_config():
    entries = yaml.safe_load(BRIDGE.read_text())
    assert isinstance(entries, list) and entries
    keys = {'ros_topic_name', 'gz_topic_name', 'ros_type_name', 'gz_type_name', 'direction'}
    for entry in entries:
        assert keys <= entry.keys(), entry
        assert entry['direction'] in {'GZ_TO_ROS', 'ROS_TO_GZ', 'BIDIRECTIONAL'}, entry
        assert BRIDGE_TYPES.get(entry['ros_type_name']) == entry['gz_type_name'], entry
    by_topic = {e['ros_topic_name']: e for e in entries}
    for topic in ('/clock', '/igv_01/gnss/fix', '/igv_01/imu/data', '/igv_01/ground_truth/odom'):
        assert by_topic[topic]['direction'] == 'GZ_TO_ROS'


def test_bridged_gz_topics_are_published_by_the_urdf():
    """A gz topic nothing publishes would leave its ROS topic silent without any error."""
    urdf = URDF.read_text()
    for entry in yaml.safe_load(BRIDGE.read_text()):
        if entry['gz_topic_name'] != '/clock':  # published by gz-sim itself
            assert f'>{entry["gz_topic_name"]}<' in urdf, entry['gz_topic_name']


# --- RViz ----------------------------------------------------------------------------------------

def _topics(tree):
    """Every `Topic`/`Description Topic` value in an RViz config."""
    if isinstance(tree, dict):
        found = {v['Value'] for k, v in tree.items()
                 if k.endswith('Topic') and isinstance(v, dict)}
        return found.union(*(_topics(v) for v in tree.values()))
    if isinstance(tree, list):
        return set().union(*(_topics(v) for v in tree))
    return set()


def test_rviz_config():
    config = yaml.safe_load(RVIZ.read_text())
    manager = config['Visualization Manager']
    assert manager['Global Options']['Fixed Frame'] == 'map'
    assert manager['Views']['Current']['Class'] == 'rviz_default_plugins/TopDownOrtho'
    assert {'/map/markers', '/igv_01/vehicle/markers', '/igv_01/localization/odometry',
            '/igv_01/ground_truth/odom', '/igv_01/robot_description'} <= _topics(config)
    classes = {d['Class']: d for d in manager['Displays']}
    assert {'rviz_default_plugins/Grid', 'rviz_default_plugins/MarkerArray',
            'rviz_default_plugins/Odometry', 'rviz_default_plugins/RobotModel'} <= classes.keys()
    assert classes['rviz_default_plugins/RobotModel']['Enabled'] is False


# --- launch files (static: `launch` is not installable here) ------------------------------------

def _paths(tree, launch_file):
    """Files a launch file names through `Path(__file__)...` / 'part' expressions, evaluated
    without running it (module-level names included)."""
    names = {}

    def value(node):
        match node:
            case ast.Call(func=ast.Name(id='Path'), args=[ast.Name(id='__file__')]):
                return launch_file
            case ast.Call(func=ast.Attribute(value=inner, attr='resolve'), args=[]):
                return value(inner)
            case ast.Attribute(value=inner, attr='parent'):
                base = value(inner)
                return None if base is None else base.parent
            case ast.BinOp(left=left, op=ast.Div(), right=ast.Constant(value=str(part))):
                base = value(left)
                return None if base is None else base / part
            case ast.Name(id=name):
                return names.get(name)
        return None

    for statement in tree.body:
        if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
            names[statement.targets[0].id] = value(statement.value)
    inner_lefts = {id(n.left) for n in ast.walk(tree) if isinstance(n, ast.BinOp)}
    outermost = [n for n in ast.walk(tree) if isinstance(n, ast.BinOp)
                 and isinstance(n.op, ast.Div) and id(n) not in inner_lefts]
    return {p for p in map(value, outermost) if p is not None}


def _calls(tree, function):
    """Every call to `function` (by plain name)."""
    return [n for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == function]


def _literal(node):
    """A constant's value; None for anything computed (which a static check cannot follow)."""
    return node.value if isinstance(node, ast.Constant) else None


def _console_scripts(setup_py):
    """Executables a setup.py declares as 'name = module:function' entry points."""
    return {m.group(1) for n in ast.walk(ast.parse(setup_py.read_text()))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and (m := re.fullmatch(r'\s*([\w.-]+)\s*=\s*[\w.]+:\w+\s*', n.value))}


def launch_references(launch_file):
    """(package, executable) pairs of the Node actions and the files a launch file names."""
    tree = ast.parse(launch_file.read_text(), filename=str(launch_file))
    nodes = set()
    for call in _calls(tree, 'Node'):
        kwargs = {k.arg: k.value for k in call.keywords}
        nodes.add((_literal(kwargs.get('package')), _literal(kwargs.get('executable'))))
    shares = {_literal(call.args[0]) if call.args else None
              for call in _calls(tree, 'FindPackageShare')}
    return nodes, shares, _paths(tree, launch_file)


def launch_problems(launch_file, repo):
    """What would make `ros2 launch` fail on a full install: unknown packages or executables,
    missing files."""
    nodes, shares, paths = launch_references(launch_file)
    src = repo / 'ros2_ws' / 'src'
    problems = []
    for package, executable in sorted(nodes, key=str):
        if package is None or executable is None:
            problems.append('Node() without literal package= and executable=')
        elif package in EXTERNAL_PACKAGES:
            continue
        elif not (src / package / 'setup.py').is_file():
            problems.append(f'package {package}: no {src / package / "setup.py"}')
        elif executable not in _console_scripts(src / package / 'setup.py'):
            problems.append(f'package {package}: setup.py declares no console script {executable}')
    problems += [f'FindPackageShare({p!r}): not an external package'
                 for p in shares - EXTERNAL_PACKAGES]
    problems += [f'missing file {p}' for p in sorted(paths) if not p.exists()]
    return problems


LAUNCH_CONTRACTS = {
    'demo.launch.py': (
        {('smartgate_navigation', 'map_server'), ('smartgate_simulation', 'world_sim'),
         ('smartgate_localization', 'localization_node'),
         ('smartgate_navigation', 'route_follower'), ('rviz2', 'rviz2')},
        {'config/map_server.param.yaml', 'config/world_sim.param.yaml',
         'config/localization.param.yaml', 'config/route_follower.param.yaml',
         'config/smartgate.rviz'},
    ),
    'gazebo.launch.py': (
        {('ros_gz_bridge', 'parameter_bridge'), ('robot_state_publisher', 'robot_state_publisher'),
         ('ros_gz_sim', 'create'), ('smartgate_navigation', 'map_server'),
         ('smartgate_localization', 'localization_node'),
         ('smartgate_navigation', 'route_follower')},
        {'config/ros_gz_bridge.yaml', 'urdf/smartgate_igv.urdf', 'sim/worlds/moc_1119_1120.sdf',
         'config/map_server.param.yaml', 'config/localization.param.yaml',
         'config/route_follower.param.yaml'},
    ),
}


@pytest.mark.parametrize('name', sorted(LAUNCH_CONTRACTS))
def test_launch_file_starts_the_expected_nodes_with_the_expected_files(name):
    launch_file = LAUNCH / name
    compile(launch_file.read_text(), str(launch_file), 'exec')
    nodes, _, paths = launch_references(launch_file)
    expected_nodes, expected_files = LAUNCH_CONTRACTS[name]
    assert nodes == expected_nodes
    assert {str(p.relative_to(REPO)) for p in paths if p.is_relative_to(REPO)} >= expected_files


@pytest.mark.parametrize('launch_file', sorted(LAUNCH.glob('*.launch.py')), ids=lambda p: p.name)
def test_launch_file_references_resolve_in_the_repo(launch_file):
    assert launch_problems(launch_file, REPO) == []


def test_launch_check_catches_wrong_names_and_missing_files(tmp_path):
    package = tmp_path / 'ros2_ws' / 'src' / 'pkg'
    package.mkdir(parents=True)
    (package / 'setup.py').write_text(
        "setup(entry_points={'console_scripts': ['good = pkg.node:main']})\n")
    (tmp_path / 'config').mkdir()
    (tmp_path / 'config' / 'there.yaml').write_text('{}\n')
    (tmp_path / 'launch').mkdir()
    launch_file = tmp_path / 'launch' / 'x.launch.py'
    launch_file.write_text(
        "CONFIG = Path(__file__).resolve().parent.parent / 'config'\n"
        "Node(package='pkg', executable='good', parameters=[str(CONFIG / 'there.yaml')])\n"
        "Node(package='pkg', executable='typo', parameters=[str(CONFIG / 'missing.yaml')])\n"
        "Node(package='nopkg', executable='good')\n"
        "Node(package='rviz2', executable='rviz2')\n"
        "FindPackageShare('nav2_bringup')\n")
    problems = launch_problems(launch_file, tmp_path)
    assert len(problems) == 4, problems
    assert any('typo' in p for p in problems)
    assert any('nopkg' in p for p in problems)
    assert any('nav2_bringup' in p for p in problems)
    assert any('missing.yaml' in p for p in problems)
