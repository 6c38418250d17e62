"""Shared fixtures: a ROS domain of its own per test, real node processes, an rclpy context."""
from __future__ import annotations

import itertools
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MAP_FILE = REPO / 'maps' / 'moc_1119_1120.geojson'
NODE_EXECUTABLES = ('world_sim', 'localization_node', 'route_follower', 'map_server', 'crane_node')
_domains = itertools.count()


def running_node_processes():
    """PIDs of SmartGate node processes on this machine (to prove none is left behind)."""
    out = subprocess.run(['ps', '-eo', 'pid=,args='], capture_output=True, text=True).stdout
    pids = []
    for line in out.splitlines():
        pid, _, args = line.strip().partition(' ')
        if any('/lib/smartgate_' in t and t.rsplit('/', 1)[-1] in NODE_EXECUTABLES for t in args.split()[:2]):
            pids.append(int(pid))
    return pids


@pytest.fixture
def ros_domain(monkeypatch):
    """A ROS_DOMAIN_ID no other test run on this machine uses at the same time."""
    domain = 1 + (os.getpid() * 7 + next(_domains)) % 100
    monkeypatch.setenv('ROS_DOMAIN_ID', str(domain))
    monkeypatch.setenv('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    return domain


@pytest.fixture
def nodes(tmp_path, ros_domain):
    """Start real node processes: nodes('world_sim', start_node_id=..., **params); all stopped after."""
    from smartgate_bringup.processes import ProcessGroup
    from smartgate_bringup.stack import STACK, executable_path

    specs = {s.name: s for s in STACK}
    group = ProcessGroup(tmp_path / 'logs')

    def start(name, namespace='igv_t', param_file=None, **params):
        """world_sim simulates the vehicle `namespace`: its start_node_id, seed and payload_kg go to it."""
        spec = specs[name]
        argv = [executable_path(spec), '--ros-args', '-r', f'__node:={name}',
                '--params-file', str(param_file or REPO / 'config' / f'{name}.param.yaml'),
                '-p', f'map_file:={MAP_FILE}']
        if spec.namespaced:
            argv += ['-r', f'__ns:=/{namespace}', '-p', f'vehicle_id:={namespace}']
        if name in ('world_sim', 'localization'):
            argv += ['-p', f"gnb_sites_file:={REPO / 'config' / 'gnb_sites.yaml'}"]
        if name == 'world_sim':
            params.setdefault('vehicle_ids', f'[{namespace}]')
            params = {f'{namespace}.{k}' if k in ('start_node_id', 'seed', 'payload_kg') else k: v
                      for k, v in params.items()}
        for key, value in params.items():
            argv += ['-p', f'{key}:={value}']
        group.start(name, argv, dict(os.environ, PYTHONUNBUFFERED='1'))
        return group.procs[-1]

    start.group = group
    yield start
    group.stop()
    assert all(m.popen.poll() is not None for m in group.procs), 'a node process survived stop()'


class RosClient:
    """An rclpy node in the test process, spun on a background thread.

    Entities are created while that thread is paused between spins: rclpy's ActionClient joins
    the node's waitables before its lock exists, and an executor that sees it half-built dies
    with AttributeError '_lock', silently stopping every subscription of the test.
    """

    def __init__(self, domain):
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.parameter import Parameter
        from rclpy.signals import SignalHandlerOptions

        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain, signal_handler_options=SignalHandlerOptions.NO)
        self.node = rclpy.create_node('test_client', context=self.context,
                                      parameter_overrides=[Parameter('use_sim_time', value=True)])
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._paused = threading.Lock()
        self._running = True
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self):
        while self._running and self.context.ok():
            with self._paused:
                self.executor.spin_once(timeout_sec=0.02)

    def paused(self):
        """`with ros.paused(): ...` creates publishers, clients and action clients safely."""
        return self._paused

    def collect(self, msg_type, topic, qos):
        """Subscribe and keep every message received in a list."""
        received = []
        with self._paused:
            self.node.create_subscription(msg_type, topic, received.append, qos)
        return received

    def now_s(self):
        return self.node.get_clock().now().nanoseconds * 1e-9

    def start_heartbeat(self, period_s=0.2):
        """Publish the fleet manager's heartbeat (on simulated time) until stopped; return the timer.
        The sim time of every beat sent is kept in `heartbeat_stamps`."""
        from std_msgs.msg import Header
        from smartgate_common import qos
        self.heartbeat_stamps = []

        def beat():
            now = self.node.get_clock().now()
            pub.publish(Header(stamp=now.to_msg()))
            self.heartbeat_stamps.append(now.nanoseconds * 1e-9)
        with self._paused:
            pub = self.node.create_publisher(Header, '/fleet/heartbeat', qos.STATUS)
            return self.node.create_timer(period_s, beat)

    def close(self):
        import rclpy
        self._running = False
        self._thread.join(timeout=5.0)
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


@pytest.fixture
def ros(ros_domain):
    client = RosClient(ros_domain)
    yield client
    client.close()


def wait_for(predicate, timeout_s, what, group=None):
    """Poll until predicate() is true; fail naming `what` (and a dead node's log) on timeout."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if group is not None:
            group.check()
        if time.monotonic() > deadline:
            pytest.fail(f'timed out after {timeout_s} s waiting for {what() if callable(what) else what}')
        time.sleep(0.05)
