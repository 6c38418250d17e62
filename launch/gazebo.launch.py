"""SmartGate in Gazebo (gz-sim) on a full ROS 2 install with ros_gz: the moc 1119-1120 world, one
IGV spawned from the URDF, the ros_gz bridge, and the SmartGate map server, localization and route
follower on simulation time (gz-sim is the clock and the sensors; no vehicle_sim).

`ros2 launch launch/gazebo.launch.py` from the repository root. The vehicle is igv_01 and not a
launch argument, because the URDF's gz topics and config/ros_gz_bridge.yaml name it.
The URDF carries no drive system: gz-sim moves the IGV only once one is added there.
"""
from pathlib import Path

from launch import LaunchDescription
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / 'config'
WORLD = REPO / 'sim' / 'worlds' / 'moc_1119_1120.sdf'
URDF = REPO / 'urdf' / 'smartgate_igv.urdf'
VEHICLE_ID = 'igv_01'
SIM_TIME = {'use_sim_time': True}
MAP = {'map_file': str(REPO / 'maps' / 'moc_1119_1120.geojson')}
VEHICLE = {'vehicle_id': VEHICLE_ID, **MAP}
SITES = {'gnb_sites_file': str(CONFIG / 'gnb_sites.yaml')}
# Spawn under the crane portal (x = 60 m, y = -50 m in the map frame), heading north.
SPAWN_POSE = ['-x', '60.0', '-y', '-50.0', '-z', '0.05', '-Y', '1.5708']


def generate_launch_description():
    gz_sim = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(
            PathJoinSubstitution([FindPackageShare('ros_gz_sim'), 'launch', 'gz_sim.launch.py'])),
        launch_arguments={'gz_args': f'-r {WORLD}'}.items())
    return LaunchDescription([
        gz_sim,
        Node(package='ros_gz_bridge', executable='parameter_bridge', name='ros_gz_bridge',
             parameters=[{'config_file': str(CONFIG / 'ros_gz_bridge.yaml'), **SIM_TIME}]),
        Node(package='robot_state_publisher', executable='robot_state_publisher',
             name='robot_state_publisher', namespace=VEHICLE_ID,
             parameters=[{'robot_description': URDF.read_text(), **SIM_TIME}]),
        Node(package='ros_gz_sim', executable='create', name='spawn_igv', namespace=VEHICLE_ID,
             arguments=['-name', VEHICLE_ID, '-topic', 'robot_description', *SPAWN_POSE]),
        Node(package='smartgate_navigation', executable='map_server', name='map_server',
             parameters=[str(CONFIG / 'map_server.param.yaml'), MAP]),
        Node(package='smartgate_localization', executable='localization_node', name='localization',
             namespace=VEHICLE_ID,
             parameters=[str(CONFIG / 'localization.param.yaml'), VEHICLE, SITES, SIM_TIME]),
        Node(package='smartgate_navigation', executable='route_follower', name='route_follower',
             namespace=VEHICLE_ID,
             parameters=[str(CONFIG / 'route_follower.param.yaml'), VEHICLE, SIM_TIME]),
    ])
