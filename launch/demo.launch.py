"""SmartGate demo on a full ROS 2 install: map server, the world simulator with one IGV, its localization
and route follower, and optionally RViz, from the same config/ files `smartgate demo` uses.

`ros2 launch launch/demo.launch.py [vehicle_id:=igv_01] [rviz:=true]` from the repository root,
then send a goal, e.g. with the commander API or
`ros2 action send_goal /igv_01/follow_route smartgate_interfaces/action/FollowRoute
"{route_id: moc1119_export_yard_to_crane, precise_stop: true}" --feedback`.
Without `launch` (as on the CI machines) the same nodes run through `smartgate demo`;
tests/test_full_install_assets.py checks this file statically.
"""
from pathlib import Path

import yaml
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / 'config'
DEMO = yaml.safe_load((CONFIG / 'demo.yaml').read_text())
MAP = {'map_file': str(REPO / DEMO['map_file'])}
SITES = {'gnb_sites_file': str(REPO / DEMO['gnb_sites_file'])}


def vehicle_nodes(context):
    """The vehicle's nodes, in its namespace, with its start node, seed and payload from the fleet file."""
    vehicle_id = LaunchConfiguration('vehicle_id').perform(context)
    fleet = yaml.safe_load((REPO / DEMO['fleet_file']).read_text())['vehicles']
    if vehicle_id not in fleet:
        raise RuntimeError(f"unknown vehicle id '{vehicle_id}': not in {DEMO['fleet_file']} "
                           f"(known: {', '.join(sorted(fleet))})")
    spec = fleet[vehicle_id]
    ids = {'vehicle_id': vehicle_id, **MAP}
    return [
        # The world simulator publishes /clock, so it alone runs on wall time.
        Node(package='smartgate_simulation', executable='world_sim', name='world_sim',
             parameters=[str(CONFIG / 'world_sim.param.yaml'),
                         {**MAP, **SITES, 'vehicle_ids': [vehicle_id],
                          f'{vehicle_id}.start_node_id': spec['start_node_id'], f'{vehicle_id}.seed': spec['seed'],
                          f'{vehicle_id}.payload_kg': float(spec['payload_kg']), 'use_sim_time': False}]),
        Node(package='smartgate_localization', executable='localization_node', name='localization',
             namespace=vehicle_id, parameters=[str(CONFIG / 'localization.param.yaml'), {**ids, **SITES}]),
        Node(package='smartgate_navigation', executable='route_follower', name='route_follower',
             namespace=vehicle_id, parameters=[str(CONFIG / 'route_follower.param.yaml'), ids]),
    ]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument('vehicle_id', default_value=DEMO['vehicle_id'],
                              description='vehicle of config/fleet.yaml to simulate (also its namespace)'),
        DeclareLaunchArgument('rviz', default_value='false', description='start RViz2'),
        Node(package='smartgate_navigation', executable='map_server', name='map_server',
             parameters=[str(CONFIG / 'map_server.param.yaml'), MAP]),
        OpaqueFunction(function=vehicle_nodes),
        Node(package='rviz2', executable='rviz2', name='rviz2',
             arguments=['-d', str(CONFIG / 'smartgate.rviz')], parameters=[{'use_sim_time': True}],
             condition=IfCondition(LaunchConfiguration('rviz'))),
    ])
