"""The canonical main() of a SmartGate node (as in ros2/examples), with clean configuration errors."""
from __future__ import annotations

import sys

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

from .parameters import ConfigError

EXIT_CONFIG_ERROR = 2


def run(node_class, args=None):
    """Create the node, spin it until shutdown; exit 2 on a bad configuration.

    A single-threaded executor: callbacks run one at a time (long work is async, as the route
    follower's action), for much less CPU than rclpy's multi-threaded executor costs.
    """
    try:
        with rclpy.init(args=args):
            try:
                node = node_class()
            except ConfigError as exc:
                print(f'configuration error: {exc}', file=sys.stderr, flush=True)
                sys.exit(EXIT_CONFIG_ERROR)
            executor = SingleThreadedExecutor()
            executor.add_node(node)
            try:
                executor.spin()
            finally:
                node.destroy_node()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
