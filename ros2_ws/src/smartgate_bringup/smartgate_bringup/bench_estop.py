"""E-stop reaction over DDS, between real processes: the time from an e-stop published on
`/<vehicle>/estop` to the first emergency brake command on `/<vehicle>/cmd_drive`.

The simulator, localization and route follower of config/demo.yaml run as separate processes at
real-time factor 1 on a ROS domain of their own (loopback discovery); this process is the operator
(and the fleet heartbeat). Each trial drives the export route until the vehicle is under way, raises
the e-stop, waits for the vehicle to stand, releases it and sends the goal again (the vehicle goes on
from where it stands). Wall-clock times, taken where the messages are published and received.
"""
from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

UNDER_WAY_MPS = 3.5          # a trial starts once the vehicle drives faster than this [m/s]
ROUTE_ID = 'moc1119_export_full'


class EstopTrialFailed(RuntimeError):
    """The stack did not do what a trial needs; the message says what."""


def run(root: Path, trials: int, say=print) -> dict:
    import rclpy
    from nav_msgs.msg import Odometry
    from rclpy.action import ActionClient
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter
    from rclpy.signals import SignalHandlerOptions
    from std_msgs.msg import Bool, Header

    from smartgate_common import qos
    from smartgate_interfaces.action import FollowRoute
    from smartgate_interfaces.msg import DriveCommand, VehicleState

    from .processes import ProcessGroup
    from .stack import STACK, load_demo_config, node_argv

    cfg, _ = load_demo_config(root, root / 'config' / 'demo.yaml', route_ids=[ROUTE_ID], real_time_factor=1.0)
    ns = f'/{cfg.vehicle_id}'
    domain = 101 - os.getpid() % 50
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST', PYTHONUNBUFFERED='1')
    reactions, lock = [], threading.Lock()
    state = {'speed': 0.0, 'raised_at': None, 'first_brake': None, 'ready': False}

    def on_cmd(msg):
        now = time.monotonic()
        with lock:
            if msg.emergency_stop and state['raised_at'] is not None and state['first_brake'] is None:
                state['first_brake'] = now

    def on_truth(msg):
        state['speed'] = msg.twist.twist.linear.x

    def wait(predicate, timeout_s, what, procs):
        deadline = time.monotonic() + timeout_s
        while not predicate():
            procs.check()
            if time.monotonic() > deadline:
                raise EstopTrialFailed(f'timed out after {timeout_s:.0f} s waiting for {what}')
            time.sleep(0.005)

    with tempfile.TemporaryDirectory() as tmp, ProcessGroup(Path(tmp) / 'logs') as procs:
        for spec in STACK:
            if spec.name in ('world_sim', 'localization', 'route_follower'):
                procs.start(spec.name, node_argv(spec, cfg), env)
        context = Context()
        rclpy.init(context=context, domain_id=domain, signal_handler_options=SignalHandlerOptions.NO)
        node = rclpy.create_node('estop_bench', context=context,
                                 parameter_overrides=[Parameter('use_sim_time', value=True)])
        estop = node.create_publisher(Bool, f'{ns}/estop', qos.LATCHED)
        heartbeat = node.create_publisher(Header, '/fleet/heartbeat', qos.STATUS)
        node.create_timer(0.2, lambda: heartbeat.publish(Header(stamp=node.get_clock().now().to_msg())))
        node.create_subscription(DriveCommand, f'{ns}/cmd_drive', on_cmd, qos.COMMAND)
        node.create_subscription(Odometry, f'{ns}/ground_truth/odom', on_truth, qos.SENSOR)
        node.create_subscription(VehicleState, f'{ns}/vehicle/state',
                                 lambda m: state.update(ready=not m.safety_reason), qos.STATUS)
        client = ActionClient(node, FollowRoute, f'{ns}/follow_route')
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        spin = threading.Thread(target=executor.spin, daemon=True)
        spin.start()
        try:
            wait(client.server_is_ready, 60.0, 'the follow_route action', procs)
            wait(lambda: state['ready'], 60.0, 'the route follower to be ready (pose, heartbeat)', procs)
            estop.publish(Bool(data=False))
            for trial in range(trials):
                goal = client.send_goal_async(FollowRoute.Goal(route_id=ROUTE_ID, precise_stop=True))
                wait(goal.done, 10.0, 'the goal to be accepted', procs)
                wait(lambda: state['speed'] > UNDER_WAY_MPS, 60.0, f'the vehicle to exceed {UNDER_WAY_MPS} m/s', procs)
                with lock:
                    state['first_brake'] = None
                    state['raised_at'] = time.monotonic()
                    estop.publish(Bool(data=True))
                wait(lambda: state['first_brake'] is not None, 5.0, 'an emergency brake command', procs)
                with lock:
                    reactions.append(state['first_brake'] - state['raised_at'])
                    state['raised_at'] = None
                say(f'  e-stop trial {trial + 1}/{trials}: first emergency brake command after '
                    f'{reactions[-1] * 1000:.1f} ms')
                wait(lambda: state['speed'] < 1e-3, 30.0, 'the vehicle to stand', procs)
                estop.publish(Bool(data=False))
                wait(lambda: state['ready'], 10.0, 'the route follower to release the e-stop', procs)
        finally:
            executor.shutdown()
            node.destroy_node()
            rclpy.shutdown(context=context)
    r = np.asarray(reactions)
    return {'estop_reaction_s': round(float(np.percentile(r, 95)), 4),
            'estop_reaction_median_s': round(float(np.median(r)), 4),
            'estop_reaction_max_s': round(float(r.max()), 4), 'estop_reaction_trials': len(r),
            'estop_reaction_setup': 'DDS between processes (Fast DDS, loopback), real-time factor 1, '
                                    f'vehicle under way above {UNDER_WAY_MPS} m/s'}
