"""RouteCommander: drive one SmartGate vehicle from a plain Python script, like nav2_simple_commander.

A command (`followRoute`, `followPath`, `goToStop`) sends a FollowRoute goal to
`/<vehicle_id>/follow_route` and returns whether the route follower accepted it. Then poll
`isTaskComplete()`, read `getFeedback()`, `cancelTask()` if needed, and read `getResult()` and
`getResultDetail()` once the task is complete.

Spinning: unlike BasicNavigator, most methods do not spin the node. `isTaskComplete()` spins it
for up to 0.1 s and `waitUntilActive()` until the stack is up; feedback, results and cancel
answers arrive only then. The commands also spin, but only until the answer they must return has
arrived (the goal acceptance, the `get_route` lookups), bounded by `response_timeout_s`.
`getFeedback`, `getResult`, `getResultDetail` and `cancelTask` never spin. The node has its own
executor: do not add it to another one or spin it from another thread.

Timeouts are in wall-clock seconds (the stack's simulated /clock may not be running yet); the
node itself uses simulated time (`use_sim_time`), as the rest of the stack.
"""
from __future__ import annotations

import math
import time
from enum import Enum

import rclpy
from action_msgs.msg import GoalStatus
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Path
from rclpy.action import ActionClient
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.task import Future

from smartgate_common import qos
from smartgate_interfaces.action import FollowRoute
from smartgate_interfaces.msg import LocalizationStatus, RouteProgress, VehicleState
from smartgate_interfaces.srv import GetRoute

# FollowRoute.Result error codes by value, for messages: {1: 'UNKNOWN_ROUTE', ...}
ERROR_NAMES = {v: k for k, v in vars(FollowRoute.Result).items() if k.isupper() and isinstance(v, int)}


class TaskResult(Enum):
    """How the last task ended (UNKNOWN while it runs or when none was sent)."""

    UNKNOWN = 0
    SUCCEEDED = 1
    CANCELED = 2
    FAILED = 3


_TASK_RESULTS = {GoalStatus.STATUS_SUCCEEDED: TaskResult.SUCCEEDED,
                 GoalStatus.STATUS_CANCELED: TaskResult.CANCELED,
                 GoalStatus.STATUS_ABORTED: TaskResult.FAILED}


class RouteCommander(Node):
    """Commands one vehicle's route follower through the FollowRoute action."""

    def __init__(self, vehicle_id: str = 'igv_01', node_name: str = 'route_commander', *,
                 context=None, response_timeout_s: float = 10.0):
        """Create the node (sim time) with its own executor; `context` defaults to rclpy's global one."""
        super().__init__(node_name, context=context,
                         parameter_overrides=[Parameter('use_sim_time', value=True)])
        self.vehicle_id = vehicle_id
        self.response_timeout_s = response_timeout_s    # wait for a goal acceptance or a route lookup [s, wall]
        self._executor = SingleThreadedExecutor(context=self.context)
        self._executor.add_node(self)
        self._server_name = f'/{vehicle_id}/follow_route'
        self._action = ActionClient(self, FollowRoute, self._server_name)
        self._route_client = self.create_client(GetRoute, f'/{vehicle_id}/get_route')
        self._loc_status: LocalizationStatus | None = None
        self._vehicle_state: VehicleState | None = None
        self.create_subscription(LocalizationStatus, f'/{vehicle_id}/localization/status',
                                 self._on_status, qos.STATUS)
        self.create_subscription(VehicleState, f'/{vehicle_id}/vehicle/state', self._on_vehicle_state, qos.STATUS)
        self._task_id = 0               # increases with every goal sent; stale feedback is dropped
        self._task_label = ''
        self._goal_handle = None
        self._result_future: Future | None = None
        self._feedback: RouteProgress | None = None
        self._status = GoalStatus.STATUS_UNKNOWN
        self._result: FollowRoute.Result | None = None

    # ---- waiting for the stack ----------------------------------------------------------
    def waitUntilActive(self, timeout_s: float = 60.0) -> bool:
        """Spin until the action server is up, localization past INITIALIZING and not LOST, and the follower ready."""
        # Judged by messages received from now on. The route follower's vehicle/state must show no
        # safety reason: localization may report a fix before the follower has its first pose.
        self._loc_status = self._vehicle_state = None
        deadline = time.monotonic() + timeout_s
        while True:
            missing = self._inactive_reason()
            if not missing:
                self.get_logger().info(f'{self.vehicle_id} is active (localization mode {self._loc_status.mode})')
                return True
            if time.monotonic() >= deadline:
                self.get_logger().error(f'{self.vehicle_id} not active after {timeout_s:g} s: '
                                        f'still waiting for {missing}')
                return False
            self.get_logger().info(f'waiting for {missing}...', throttle_duration_sec=2.0)
            self._spin(Future(), 0.1)

    def _inactive_reason(self) -> str:
        """What the stack still lacks to take a goal, or '' when it is active."""
        if not self._action.server_is_ready():
            return f'the action server {self._server_name}'
        status = self._loc_status
        if status is None:
            return f'a status on /{self.vehicle_id}/localization/status'
        if status.mode == LocalizationStatus.MODE_INITIALIZING:
            return 'localization to initialize'
        if status.mode == LocalizationStatus.MODE_LOST:
            return 'localization (it reports LOST)'
        state = self._vehicle_state
        if state is None:
            return f'the route follower\'s state on /{self.vehicle_id}/vehicle/state'
        if state.safety_reason:
            return f'the route follower to be ready to drive (now: {state.safety_reason})'
        return ''

    # ---- commands -----------------------------------------------------------------------
    def followRoute(self, route_id: str, precise_stop: bool = True) -> bool:
        """Follow a route of the lane map by id; False if the goal was not accepted."""
        return self._send(FollowRoute.Goal(route_id=route_id, precise_stop=precise_stop), f'route {route_id}')

    def followPath(self, poses, precise_stop: bool = True) -> bool:
        """Follow an explicit path (a nav_msgs/Path or a list of (x, y) in map [m]); False if not accepted."""
        if isinstance(poses, Path):
            path = poses
        else:
            path = Path()
            path.header.frame_id = 'map'
            path.header.stamp = self.get_clock().now().to_msg()
            for x, y in poses:
                pose = PoseStamped(header=path.header)
                pose.pose.position.x, pose.pose.position.y = float(x), float(y)
                path.poses.append(pose)
        return self._send(FollowRoute.Goal(path=path, precise_stop=precise_stop),
                          f'a path of {len(path.poses)} poses')

    def goToStop(self, stop_node_id: str, candidate_routes: list[str], precise_stop: bool = True) -> bool:
        """Follow the first of `candidate_routes` that ends at `stop_node_id`; False if none does or not accepted."""
        if not self._route_client.wait_for_service(timeout_sec=self.response_timeout_s):
            self.get_logger().error(f'service /{self.vehicle_id}/get_route not available after '
                                    f'{self.response_timeout_s:g} s')
            return False
        for route_id in candidate_routes:
            future = self._route_client.call_async(GetRoute.Request(route_id=route_id))
            self._spin(future, self.response_timeout_s)
            if not future.done():
                self._route_client.remove_pending_request(future)
                self.get_logger().error(f'no answer from get_route for {route_id} '
                                        f'after {self.response_timeout_s:g} s')
                return False
            response = future.result()
            if not response.success:
                self.get_logger().warning(f'skipping candidate {route_id}: {response.message}')
                continue
            if response.route.stop_node_id == stop_node_id:
                self.get_logger().info(f'{stop_node_id} is the stop of route {route_id}')
                return self.followRoute(route_id, precise_stop)
        self.get_logger().error(f'none of the routes {", ".join(candidate_routes) or "(none given)"} '
                                f'stops at {stop_node_id}')
        return False

    def _send(self, goal: FollowRoute.Goal, label: str) -> bool:
        """Send a goal (preempting the running one) and spin until it is accepted or refused."""
        if not self._action.wait_for_server(timeout_sec=self.response_timeout_s):
            self.get_logger().error(f'action server {self._server_name} not available after '
                                    f'{self.response_timeout_s:g} s; is the stack running?')
            return False
        if self._result_future is not None and not self._result_future.done():
            self.get_logger().info(f'{label} preempts {self._task_label}')
        self._task_id += 1
        task_id = self._task_id
        self._task_label = label
        self._goal_handle, self._result_future, self._feedback = None, None, None
        self._status, self._result = GoalStatus.STATUS_UNKNOWN, None
        sent = self._action.send_goal_async(goal, feedback_callback=lambda msg: self._on_feedback(task_id, msg))
        self._spin(sent, self.response_timeout_s)
        if not sent.done():
            # never leave a vehicle driving a goal nobody follows: cancel it if it is accepted late
            sent.add_done_callback(lambda f: f.result() is not None and f.result().accepted
                                   and f.result().cancel_goal_async())
            self.get_logger().error(f'{label}: no answer from {self._server_name} after '
                                    f'{self.response_timeout_s:g} s')
            return False
        handle = sent.result()
        if not handle.accepted:
            self.get_logger().error(f'{label}: goal rejected by {self._server_name}')
            return False
        self._goal_handle, self._result_future = handle, handle.get_result_async()
        self.get_logger().info(f'{label}: goal accepted')
        return True

    # ---- following the task -------------------------------------------------------------
    def isTaskComplete(self) -> bool:
        """Spin up to 0.1 s; True once the task has ended (or when there is none)."""
        if self._result_future is None:
            return True
        rclpy.spin_until_future_complete(self, self._result_future, executor=self._executor, timeout_sec=0.10)
        if not self._result_future.done():
            return False
        if self._result is None:
            wrapped = self._result_future.result()
            self._status, self._result = wrapped.status, wrapped.result
            code, message = self._result.error_code, self._result.error_msg
            if self._status == GoalStatus.STATUS_SUCCEEDED:
                self.get_logger().info(f'{self._task_label}: succeeded, stop error '
                                       f'{self._result.stop_error_m * 100:.1f} cm (estimated)')
            elif self._status == GoalStatus.STATUS_CANCELED:
                self.get_logger().info(f'{self._task_label}: canceled')
            else:
                self.get_logger().warning(f'{self._task_label}: {ERROR_NAMES.get(code, code)}: {message}')
        return True

    def getFeedback(self) -> RouteProgress | None:
        """The newest progress of the task (received in isTaskComplete), or None before the first."""
        return self._feedback

    def cancelTask(self) -> bool:
        """Request cancellation of the running task (no spin: the outcome arrives in isTaskComplete)."""
        if self._goal_handle is None or self._result_future.done():
            self.get_logger().info('no running task to cancel')
            return False
        self.get_logger().info(f'canceling {self._task_label}')
        self._goal_handle.cancel_goal_async()
        return True

    def getResult(self) -> TaskResult:
        """How the task ended: SUCCEEDED, CANCELED, FAILED, or UNKNOWN while it runs."""
        return _TASK_RESULTS.get(self._status, TaskResult.UNKNOWN)

    def getResultDetail(self) -> tuple[int | None, str, float]:
        """(error_code, error_msg, stop_error_m [m]) of the ended task; (None, '', nan) before it ends."""
        if self._result is None:
            return None, '', math.nan
        return self._result.error_code, self._result.error_msg, self._result.stop_error_m

    def destroy(self):
        """Destroy the clients, the executor and the node (a running task goes on: cancel it first)."""
        self._action.destroy()
        self._executor.remove_node(self)
        self._executor.shutdown()
        self.destroy_node()

    # ---- callbacks ----------------------------------------------------------------------
    def _on_status(self, msg: LocalizationStatus):
        self._loc_status = msg

    def _on_vehicle_state(self, msg: VehicleState):
        self._vehicle_state = msg

    def _on_feedback(self, task_id: int, msg):
        if task_id == self._task_id:                # drop feedback of a preempted task
            self._feedback = msg.feedback.progress

    def _spin(self, future: Future, timeout_s: float):
        """Run this node's callbacks until `future` is done or `timeout_s` [s, wall] has passed."""
        rclpy.spin_until_future_complete(self, future, executor=self._executor, timeout_sec=timeout_s)
