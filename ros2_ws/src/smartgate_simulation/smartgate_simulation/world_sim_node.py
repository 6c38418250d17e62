"""World simulator node: every simulated vehicle and crane bay on one clock, the /clock source of a run.

A physics thread steps the core's World (smartgate_core.simulation.world) at a fixed rate, paced to
`real_time_factor` times wall time, and publishes /clock and, for each vehicle `<vid>`, its sensors on
`/<vid>/...` (GNSS fix and dual-antenna heading, 5G, wheel odometry, IMU, forward range, ground truth)
stamped with simulated time; drive commands arrive on `/<vid>/cmd_drive`, and a vehicle without a
valid command for `command_timeout_s` brakes to a stop. For each crane `<cid>` (its bay from the lane
map, its parameters from config/crane.yaml, the boxes in its slots from the yard manifest) the crane's
MuJoCo physics runs in the same loop: its instruments on `/<cid>/sensors`, commands on `/<cid>/cmd`
(without one for `crane_command_timeout_s` the drives stop), the spreader cameras on
`/<cid>/<camera>/image_raw` when a command asks for a capture (and every `camera_period_s` for
viewers), and the bay's ground truth on `/<cid>/ground_truth` for benchmarks and the demo's report.

Soft lockstep: on a busy machine (two cores, several Python processes) a node can fall behind the
simulated clock, which a real vehicle computer running in real time would not. So the physics loop
does not run more than one period plus `lockstep_lead_s` of simulated time ahead of the newest drive
command, localization pose, crane command and fleet heartbeat (each at its own rate), waiting for
them at most `lockstep_wait_s` of wall time; a node silent for longer is not waited for, so a dead
node still ends in the command-timeout stop.
"""
from __future__ import annotations

import math
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import Pose, PoseArray, Vector3
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image, Imu, NavSatFix, NavSatStatus, Range
from std_msgs.msg import Header
from visualization_msgs.msg import Marker, MarkerArray

from smartgate_common import qos
from smartgate_common.convert import all_finite, diagnostic, to_seconds, to_time, yaw_to_quaternion
from smartgate_common.node_main import run
from smartgate_common.parameters import ConfigError, declare, declare_dataclass, declare_list
from smartgate_core.containers import ContainerError, load_yard_manifest
from smartgate_core.crane.interface import LOCK, UNLOCK, CraneCommand
from smartgate_core.crane.layout import BayParams, CameraParams, Pose2D, bay_from_map
from smartgate_core.crane.params import CraneParams
from smartgate_core.crane.physics import CranePhysics, PhysicsParams, WorldContainer
from smartgate_core.driving.command import DriveCommand
from smartgate_core.lane_map import MapError, load_map
from smartgate_core.localization.estimator import FIX_RTK_FIXED, FIX_RTK_FLOAT, FIX_SINGLE
from smartgate_core.simulation.disturbances import DisturbanceParams
from smartgate_core.simulation.sensors import (FiveGParams, GnssEnvironment, GnssParams, ImuParams, OdometryParams,
                                               RangeParams)
from smartgate_core.simulation.vehicle import SimRates, VehicleSimulator
from smartgate_core.simulation.vehicle_model import VehicleParams, VehicleState
from smartgate_core.simulation.world import CraneInWorld, World
from smartgate_interfaces.msg import ContainerPose, CraneGroundTruth, CraneSensors, RadioRanges
from smartgate_interfaces.msg import CraneCommand as CraneCommandMsg
from smartgate_interfaces.msg import DriveCommand as DriveCommandMsg

ANTENNA_HEIGHT_M = 4.5   # GNSS antenna above the ground (urdf gnss_joint) [m]
NAVSAT_STATUS = {FIX_RTK_FIXED: NavSatStatus.STATUS_GBAS_FIX, FIX_RTK_FLOAT: NavSatStatus.STATUS_SBAS_FIX,
                 FIX_SINGLE: NavSatStatus.STATUS_FIX}       # the convention localization reads back
MAX_CATCH_UP_S = 0.02    # wall time the physics loop may run behind schedule before it re-bases [s]
CRANE_SENSORS_EVERY = 2  # /<cid>/sensors every 2nd physics step: 50 Hz, the encoders' rate
TWISTLOCKS = {CraneCommandMsg.TWISTLOCKS_LOCK: LOCK, CraneCommandMsg.TWISTLOCKS_UNLOCK: UNLOCK}


class VehicleTopics:
    """One vehicle's publishers, all under /<vid>/."""

    def __init__(self, node, vid):
        pub = lambda t, topic, q: node.create_publisher(t, f'/{vid}/{topic}', q)  # noqa: E731
        self.gnss, self.heading = pub(NavSatFix, 'gnss/fix', qos.SENSOR), pub(Imu, 'gnss/heading', qos.SENSOR)
        self.odom, self.imu = pub(Odometry, 'odom/wheel', qos.SENSOR), pub(Imu, 'imu/data', qos.SENSOR)
        self.truth, self.range = pub(Odometry, 'ground_truth/odom', qos.SENSOR), pub(Range, 'range/front', qos.SENSOR)
        self.fiveg_fix = pub(NavSatFix, 'fiveg/fix', qos.SENSOR)
        self.fiveg_ranges = pub(RadioRanges, 'fiveg/ranges', qos.SENSOR)
        self.markers = pub(MarkerArray, 'vehicle/markers', qos.STATUS)


class WorldSimNode(Node):
    def __init__(self):
        super().__init__('world_sim')
        map_file = declare(self, 'map_file', description='lane map GeoJSON (WGS 84)', required_type=str)
        sites_file = declare(self, 'gnb_sites_file', description='5G gNB sites (YAML, WGS 84) per map',
                             required_type=str)
        vehicle_ids = declare_list(self, 'vehicle_ids', 'the vehicles to simulate; each id is also their ROS namespace')
        crane_ids = declare_list(self, 'crane_ids', 'the cranes to simulate (crane_id of a crane_bay of the map)',
                                 required=False)
        self.rtf = declare(self, 'real_time_factor', 1.0, 'simulated seconds per wall second')
        self.command_timeout_s = declare(self, 'command_timeout_s', 0.5,
                                         'brake to a stop after this long without a valid drive command [s, sim]')
        self.crane_timeout_s = declare(self, 'crane_command_timeout_s', 0.5,
                                       "stop a crane's drives after this long without a valid command [s, sim]")
        self.camera_period_s = declare(self, 'camera_period_s', 5.0,
                                       'spreader camera images for viewers this often, when someone listens; '
                                       '0: only on capture [s, sim]')
        self.lockstep_lead_s = declare(self, 'lockstep_lead_s', 0.1,
                                       'run at most a period plus this far ahead of the newest command, pose and '
                                       'heartbeat [s, sim]; 0 disables the lockstep')
        self.lockstep_wait_s = declare(self, 'lockstep_wait_s', 1.0, 'wait at most this long for a lagging node [s, wall]')
        self.obstacle_radius_m = declare(self, 'obstacle_radius_m', 1.0,
                                         'radius of the obstacles placed on /sim/obstacles [m]')
        vehicle = declare_dataclass(self, 'vehicle', VehicleParams)
        rates = declare_dataclass(self, 'rates', SimRates)
        gnss = declare_dataclass(self, 'gnss', GnssParams)
        odom = declare_dataclass(self, 'odometry', OdometryParams)
        imu = declare_dataclass(self, 'imu', ImuParams)
        self.range_params = declare_dataclass(self, 'range', RangeParams)
        fiveg = declare_dataclass(self, 'fiveg', FiveGParams)
        disturbances = declare_dataclass(self, 'disturbances', DisturbanceParams)
        if not 0.05 <= self.rtf <= 20.0:
            raise ConfigError(f'real_time_factor must be within [0.05, 20], got {self.rtf}')
        if not vehicle_ids:
            raise ConfigError('vehicle_ids is empty: nothing to simulate')
        try:
            lane_map = load_map(map_file)
            sites = lane_map.gnb_sites(sites_file)
        except MapError as exc:
            raise ConfigError(str(exc)) from None
        self.datum, self.vehicle_params = lane_map.datum, vehicle
        environment = GnssEnvironment.of_map(lane_map)
        sims = {}
        for i, vid in enumerate(vehicle_ids):
            start = declare(self, f'{vid}.start_node_id', description=f'route node {vid} starts on', required_type=str)
            seed = declare(self, f'{vid}.seed', i + 1, f'seed of every random source of {vid}')
            payload = declare(self, f'{vid}.payload_kg', 0.0, f'container mass on {vid} at start (declared) [kg]')
            if not 0.0 <= payload <= 80000.0:
                raise ConfigError(f'{vid}.payload_kg must be within [0, 80000], got {payload}')
            node = lane_map.features.get(start)
            if node is None or node.kind != 'route_node':
                raise ConfigError(f"{vid}.start_node_id '{start}' is not a route_node of {map_file}")
            state = VehicleState(node.geometry.x, node.geometry.y, self._start_heading(lane_map, start))
            sims[vid] = VehicleSimulator(vehicle, state, seed, payload, rates, gnss, odom, imu, self.range_params,
                                         fiveg, sites, environment, disturbance_params=disturbances)
        cranes = self._cranes(lane_map, crane_ids, vehicle) if crane_ids else {}
        self.world = World(sims, cranes, vehicle.deck_centre_x_m)

        self.pub_clock = self.create_publisher(Clock, '/clock', qos.CLOCK)
        self.pub_diag = self.create_publisher(DiagnosticArray, '/diagnostics', qos.STATUS)
        self.topics = {vid: VehicleTopics(self, vid) for vid in vehicle_ids}
        for vid in vehicle_ids:
            self.create_subscription(DriveCommandMsg, f'/{vid}/cmd_drive', lambda m, v=vid: self._on_command(v, m),
                                     qos.COMMAND)
            self.create_subscription(Odometry, f'/{vid}/localization/odometry',
                                     lambda m, v=vid: self._heard(f'{v}/pose', m.header.stamp), qos.LATEST)
        self.crane_pubs = {}
        for cid, crane in cranes.items():
            cams = {c.name: (self.create_publisher(Image, f'/{cid}/{c.name}/image_raw', qos.SENSOR),
                             self.create_publisher(CameraInfo, f'/{cid}/{c.name}/camera_info', qos.SENSOR))
                    for c in crane.physics.cameras}
            self.crane_pubs[cid] = (self.create_publisher(CraneSensors, f'/{cid}/sensors', qos.SENSOR),
                                    self.create_publisher(CraneGroundTruth, f'/{cid}/ground_truth', qos.STATUS), cams)
            self.create_subscription(CraneCommandMsg, f'/{cid}/cmd', lambda m, c=cid: self._on_crane_command(c, m),
                                     qos.COMMAND)
        self.create_subscription(PoseArray, '/sim/obstacles', self._on_obstacles, qos.LATCHED)
        self.create_subscription(Header, '/fleet/heartbeat', lambda m: self._heard('heartbeat', m.stamp), qos.LATEST)

        self._lock = threading.Lock()
        self._commands = {vid: (DriveCommand(), -math.inf) for vid in vehicle_ids}     # (command, sim time)
        self._crane_commands = {cid: (CraneCommand(), -math.inf) for cid in cranes}
        self._captures = set()                 # cranes whose cameras shoot after the next step
        self._rejected = {'drive': 0, 'crane': 0}
        self._followers = {}   # source -> (newest stamp, its period [s, sim], received [s, wall])
        self._last_camera_s = -math.inf
        self._events_logged = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._physics_loop, name='physics', daemon=True)
        self._thread.start()
        self.get_logger().info(
            f"simulating {', '.join(vehicle_ids)}" + (f" and cranes {', '.join(cranes)}" if cranes else '') +
            f' on {lane_map.name}, real-time factor {self.rtf}')

    # ---- set-up ------------------------------------------------------------------------
    @staticmethod
    def _start_heading(lane_map, node_id):
        """Heading of the first route edge leaving the start node (vehicles park facing their way out)."""
        for edge in lane_map.of_kind('route_edge'):
            if edge.properties['from'] == node_id:
                (x0, y0), (x1, y1) = edge.geometry.coords[0], edge.geometry.coords[1]
                return math.atan2(y1 - y0, x1 - x0)
        raise ConfigError(f"start node '{node_id}' has no route_edge leaving it")

    def _cranes(self, lane_map, crane_ids, vehicle):
        """Each crane's physics, built from config/crane.yaml's records, its bay from the map and the boxes the
        yard manifest puts in its slots (in manifest order: the roof fiducials' ids follow it)."""
        manifest_file = declare(self, 'manifest_file', description='containers in the yard slots at start (YAML)',
                                required_type=str)
        crane = declare_dataclass(self, 'crane', CraneParams)
        physics = declare_dataclass(self, 'physics', PhysicsParams)
        bay_params = declare_dataclass(self, 'bay', BayParams)
        camera = declare_dataclass(self, 'camera', CameraParams)
        try:
            manifest = load_yard_manifest(manifest_file)
        except ContainerError as exc:
            raise ConfigError(str(exc)) from None
        cranes = {}
        for k, cid in enumerate(crane_ids):
            try:
                bay = bay_from_map(lane_map, cid, vehicle.deck_centre_x_m, bay_params)
            except KeyError as exc:
                raise ConfigError(str(exc.args[0])) from None
            slots = {s.site_id: s for s in bay.layout.slots}
            boxes = []
            for entry in manifest:
                if entry.slot in slots:
                    size = entry.container.size_type
                    boxes.append(WorldContainer(entry.container.container_id, size.length_m, size.height_m,
                                                entry.mass_kg, slots[entry.slot].pose, 0.0, entry.cog_m))
            cranes[cid] = CraneInWorld(CranePhysics(crane, bay.layout, boxes, seed=1000 + k, physics=physics,
                                                    cameras=camera), bay)
        known = {s.site_id for c in cranes.values() for s in c.bay.layout.slots}
        stray = [e.slot for e in manifest if e.slot not in known and e.slot in lane_map.features]
        unknown = [e.slot for e in manifest if e.slot not in lane_map.features]
        if unknown:
            raise ConfigError(f'{manifest_file}: slot(s) {", ".join(unknown)} are not yard slots of {lane_map.source.name}')
        if stray:
            self.get_logger().info(f'manifest slots of cranes not simulated here: {", ".join(stray)}')
        return cranes

    # ---- inputs ------------------------------------------------------------------------
    def _on_command(self, vid, msg):
        if not all_finite(msg.speed_mps, msg.steering_angle_rad, msg.max_decel_mps2) or msg.speed_mps < 0.0:
            self._rejected['drive'] += 1
            self.get_logger().warning(f'{vid}: dropped an invalid drive command (speed {msg.speed_mps}, steering '
                                      f'{msg.steering_angle_rad}, max_decel {msg.max_decel_mps2})',
                                      throttle_duration_sec=2.0)
            return
        with self._lock:
            self._commands[vid] = (DriveCommand(msg.speed_mps, msg.steering_angle_rad, msg.max_decel_mps2,
                                                msg.emergency_stop), self.world.t_s)
        self._heard(f'{vid}/command', msg.header.stamp)

    def _on_crane_command(self, cid, msg):
        rates = (msg.gantry_mps, msg.trolley_mps, msg.hoist_mps, msg.skew_radps)
        length = msg.spreader_length_m
        if not all_finite(*rates) or math.isinf(length) or msg.twistlocks > CraneCommandMsg.TWISTLOCKS_UNLOCK:
            self._rejected['crane'] += 1
            self.get_logger().warning(f'{cid}: dropped an invalid crane command (speeds {rates}, telescope {length}, '
                                      f'twistlocks {msg.twistlocks})', throttle_duration_sec=2.0)
            return
        command = CraneCommand(*rates, spreader_length_m=None if math.isnan(length) else length,
                               twistlocks=TWISTLOCKS.get(msg.twistlocks), capture=msg.capture)
        with self._lock:
            self._crane_commands[cid] = (command, self.world.t_s)
            if msg.capture:
                self._captures.add(cid)
        self._heard(f'{cid}/command', msg.header.stamp)

    def _heard(self, source, stamp):
        t = to_seconds(stamp)
        with self._lock:
            last, period, _ = self._followers.get(source, (t, 0.0, 0.0))
            self._followers[source] = (t, t - last if t > last else period, time.monotonic())

    def _on_obstacles(self, msg):
        """Obstacles (test objects, stalled trucks) for the range sensors, in the map frame."""
        points = [(p.position.x, p.position.y) for p in msg.poses]
        if msg.header.frame_id not in ('', 'map') or not all(all_finite(x, y) for x, y in points):
            self.get_logger().warning('ignored /sim/obstacles: frame must be map and positions finite')
            return
        with self._lock:
            self.world.obstacles = [(x, y, self.obstacle_radius_m) for x, y in points]
        self.get_logger().info(f'{len(points)} obstacle(s) placed')

    # ---- the physics loop --------------------------------------------------------------
    def _wait_for_followers(self):
        """Soft lockstep: hold the clock while a live command, pose or heartbeat source lags behind it."""
        if self.lockstep_lead_s <= 0.0:
            return
        deadline = time.monotonic() + self.lockstep_wait_s
        while not self._stop.is_set():
            now = time.monotonic()
            with self._lock:
                t = self.world.t_s
                lagging = [stamp for stamp, period, seen in self._followers.values()
                           if now - seen < self.lockstep_wait_s and t - stamp > period + self.lockstep_lead_s]
            if not lagging or now > deadline:
                return
            time.sleep(0.001)

    def _physics_loop(self):
        wall_start = time.monotonic()
        dt = self.world.dt_s
        while not self._stop.is_set():
            self._wait_for_followers()
            with self._lock:
                t = self.world.t_s
                stale = {vid for vid, (_, at) in self._commands.items() if t - at > self.command_timeout_s}
                commands = {vid: DriveCommand() if vid in stale else c for vid, (c, _) in self._commands.items()}
                for cid, (command, at) in self._crane_commands.items():
                    self.world.cranes[cid].physics.apply(command if t - at <= self.crane_timeout_s else CraneCommand())
                captures, self._captures = self._captures, set()
                outputs = self.world.step(commands)
            self._publish(outputs, stale, captures)
            ahead = wall_start + self.world.step_count * dt / self.rtf - time.monotonic()
            if ahead > 0.0:
                time.sleep(ahead)
            elif ahead < -MAX_CATCH_UP_S:       # fell behind (CPU busy): slow down, never burst
                wall_start -= ahead + MAX_CATCH_UP_S

    def _publish(self, outputs, stale, captures):
        world = self.world
        stamp = to_time(world.t_s)
        first = next(iter(outputs.values()))
        if first.clock_due:
            self.pub_clock.publish(Clock(clock=stamp))
        for vid, out in outputs.items():
            self._publish_vehicle(vid, out, stamp)
        every_s = round(1.0 / world.dt_s)                 # once per simulated second
        for cid, crane in world.cranes.items():
            self._publish_crane(cid, crane, stamp, cid in captures)
        while self._events_logged < len(world.events):
            self.get_logger().info(f'{world.events[self._events_logged][1]}')
            self._events_logged += 1
        if world.step_count % every_s == 0:
            self._publish_diagnostics(stamp, stale)

    def _publish_vehicle(self, vid, out, stamp):
        pubs, sim = self.topics[vid], self.world.vehicles[vid]
        if out.gnss is not None:
            self._publish_gnss(pubs, out.gnss, stamp)
        if out.fiveg_fix is not None:
            pubs.fiveg_fix.publish(self._navsat(out.fiveg_fix.x_m, out.fiveg_fix.y_m, out.fiveg_fix.sigma_m,
                                                NavSatStatus.STATUS_FIX, stamp, 'fiveg_link',
                                                sim.fiveg_params.antenna_height_m))
        if out.fiveg_ranges is not None:
            r = out.fiveg_ranges
            msg = RadioRanges(gnb_ids=list(r.site_ids), ranges_m=[float(v) for v in r.ranges_m], sigma_m=r.sigma_m)
            msg.header.stamp, msg.header.frame_id = stamp, 'fiveg_link'
            pubs.fiveg_ranges.publish(msg)
        if out.odometry_speed_mps is not None:
            odom = Odometry()
            odom.header.stamp, odom.header.frame_id, odom.child_frame_id = stamp, 'odom', 'base_link'
            odom.twist.twist.linear.x = float(out.odometry_speed_mps)
            odom.twist.covariance[0] = sim.odometry_params.speed_sigma_mps ** 2
            pubs.odom.publish(odom)
        if out.imu is not None:
            imu = Imu()
            imu.header.stamp, imu.header.frame_id = stamp, 'imu_link'
            imu.orientation = yaw_to_quaternion(out.imu.yaw_rad)
            yaw_var = sim.imu_params.yaw_sigma_rad ** 2 + sim.imu_params.yaw_bias_sigma_rad ** 2
            imu.orientation_covariance = [1e-4, 0.0, 0.0, 0.0, 1e-4, 0.0, 0.0, 0.0, yaw_var]
            imu.angular_velocity = Vector3(x=0.0, y=0.0, z=float(out.imu.yaw_rate_radps))
            gyro_var = sim.imu_params.gyro_noise_sigma_radps ** 2
            imu.angular_velocity_covariance = [gyro_var, 0.0, 0.0, 0.0, gyro_var, 0.0, 0.0, 0.0, gyro_var]
            imu.linear_acceleration = Vector3(x=float(out.imu.accel_x_mps2), y=0.0, z=9.80665)
            pubs.imu.publish(imu)
        if out.range_m is not None:
            rng = Range(radiation_type=Range.INFRARED, field_of_view=0.1, min_range=0.0,
                        max_range=self.range_params.max_range_m, range=float(out.range_m))
            rng.header.stamp, rng.header.frame_id = stamp, 'range_front_link'
            pubs.range.publish(rng)
        if out.ground_truth_due:
            pubs.truth.publish(self._truth_msg(out.truth, stamp))
        if sim.step_count % round(sim.rates.physics_hz) == 0:
            pubs.markers.publish(self._markers(vid, out.truth, stamp))

    def _navsat(self, x_m, y_m, sigma_m, status, stamp, frame, height_m):
        fix = NavSatFix()
        fix.header.stamp, fix.header.frame_id = stamp, frame
        fix.status.status, fix.status.service = status, NavSatStatus.SERVICE_GPS
        if status == NavSatStatus.STATUS_NO_FIX:
            fix.latitude = fix.longitude = fix.altitude = math.nan
            fix.position_covariance_type = NavSatFix.COVARIANCE_TYPE_UNKNOWN
            return fix
        lat, lon, h = self.datum.to_geographic(x_m, y_m, height_m)
        fix.latitude, fix.longitude, fix.altitude = float(lat), float(lon), float(h)
        var = sigma_m ** 2
        fix.position_covariance = [var, 0.0, 0.0, 0.0, var, 0.0, 0.0, 0.0, 4.0 * var]
        fix.position_covariance_type = NavSatFix.COVARIANCE_TYPE_DIAGONAL_KNOWN
        return fix

    def _publish_gnss(self, pubs, g, stamp):
        status = NAVSAT_STATUS.get(g.fix_type, NavSatStatus.STATUS_NO_FIX)
        pubs.gnss.publish(self._navsat(g.x_m, g.y_m, g.sigma_m, status, stamp, 'gnss_link', ANTENNA_HEIGHT_M))
        if math.isfinite(g.heading_rad):
            # dual-antenna heading as orientation-only Imu (angular_velocity/linear_acceleration unknown: -1)
            heading = Imu()
            heading.header.stamp, heading.header.frame_id = stamp, 'gnss_link'
            heading.orientation = yaw_to_quaternion(g.heading_rad)
            heading.orientation_covariance = [1e6, 0.0, 0.0, 0.0, 1e6, 0.0, 0.0, 0.0, g.heading_sigma_rad ** 2]
            heading.angular_velocity_covariance[0] = heading.linear_acceleration_covariance[0] = -1.0
            pubs.heading.publish(heading)

    @staticmethod
    def _truth_msg(truth: VehicleState, stamp):
        msg = Odometry()
        msg.header.stamp, msg.header.frame_id, msg.child_frame_id = stamp, 'map', 'base_link'
        msg.pose.pose.position.x, msg.pose.pose.position.y = truth.x_m, truth.y_m
        msg.pose.pose.orientation = yaw_to_quaternion(truth.yaw_rad)
        msg.twist.twist.linear.x = truth.speed_mps
        msg.twist.twist.linear.y = truth.lateral_speed_mps
        msg.twist.twist.angular.z = truth.yaw_rate_radps
        return msg

    def _markers(self, vid, truth: VehicleState, stamp):
        p = self.vehicle_params
        body = Marker(ns=vid, id=0, type=Marker.CUBE, action=Marker.ADD)
        body.header.stamp, body.header.frame_id = stamp, 'map'
        centre = p.length_m / 2.0 - p.rear_overhang_m        # ahead of base_link [m]
        body.pose.position.x = truth.x_m + centre * math.cos(truth.yaw_rad)
        body.pose.position.y = truth.y_m + centre * math.sin(truth.yaw_rad)
        body.pose.position.z = 1.0
        body.pose.orientation = yaw_to_quaternion(truth.yaw_rad)
        body.scale.x, body.scale.y, body.scale.z = p.length_m, p.width_m, 2.0
        body.color.r, body.color.g, body.color.b, body.color.a = 0.1, 0.5, 0.9, 0.9
        cargo = ', '.join(self.world.cargo.get(vid, {}))
        label = Marker(ns=vid, id=1, type=Marker.TEXT_VIEW_FACING, action=Marker.ADD,
                       text=f'{vid} {truth.speed_mps * 3.6:.0f} km/h' + (f' [{cargo}]' if cargo else ''))
        label.header = body.header
        label.pose.position.x, label.pose.position.y, label.pose.position.z = truth.x_m, truth.y_m, 5.0
        label.scale.z = 2.5
        label.color.r = label.color.g = label.color.b = label.color.a = 1.0
        return MarkerArray(markers=[body, label])

    # ---- cranes ------------------------------------------------------------------------
    def _publish_crane(self, cid, crane, stamp, capture):
        pub_sensors, pub_truth, cameras = self.crane_pubs[cid]
        physics, world = crane.physics, self.world
        if world.step_count % CRANE_SENSORS_EVERY == 0:
            pub_sensors.publish(self._crane_sensors(physics.sensors(), stamp))
        if world.step_count % round(0.1 / world.dt_s) == 0:
            pub_truth.publish(self._crane_truth(cid, crane, stamp))
        viewers = self.camera_period_s > 0.0 and world.t_s - self._last_camera_s >= self.camera_period_s and any(
            image.get_subscription_count() for image, _ in cameras.values())
        if capture or viewers:
            self._last_camera_s = world.t_s if viewers else self._last_camera_s
            for name, frame in physics.capture().items():
                if frame.image is None:               # the cameras are lost (a fault): nothing to send
                    continue
                image_pub, info_pub = cameras[name]
                msg = Image(height=frame.image.shape[0], width=frame.image.shape[1], encoding='rgb8',
                            is_bigendian=0, step=frame.image.shape[1] * 3, data=frame.image.tobytes())
                msg.header.stamp, msg.header.frame_id = to_time(frame.t_s), f'{cid}/{name}'
                image_pub.publish(msg)
                info_pub.publish(self._camera_info(physics, name, msg.header))

    @staticmethod
    def _camera_info(physics, name, header):
        spec = next(c for c in physics.cameras if c.name == name)
        k = spec.camera_matrix()
        info = CameraInfo(header=header, height=spec.params.height_px, width=spec.params.width_px,
                          distortion_model='plumb_bob', d=[0.0] * 5)
        info.k = [float(v) for v in k.ravel()]
        info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
        info.p = [float(k[0, 0]), 0.0, float(k[0, 2]), 0.0, 0.0, float(k[1, 1]), float(k[1, 2]), 0.0, 0.0, 0.0, 1.0, 0.0]
        return info

    @staticmethod
    def _crane_sensors(s, stamp):
        msg = CraneSensors(gantry_m=s.gantry_m, trolley_m=s.trolley_m, rope_m=s.rope_m, skew_rad=s.skew_rad,
                           spreader_length_m=s.spreader_length_m, gantry_mps=s.gantry_mps, trolley_mps=s.trolley_mps,
                           hoist_mps=s.hoist_mps, sway_x_rad=s.sway_x_rad, sway_y_rad=s.sway_y_rad,
                           payload_kg=s.payload_kg, locked=list(s.locked), landed=s.landed)
        msg.header.stamp = stamp
        for group in ('encoders', 'sway', 'load', 'switches'):
            setattr(msg, f'{group}_stamp', to_time(s.stamps[group]))
        return msg

    @staticmethod
    def _pose(p: Pose2D, z_m):
        pose = Pose()
        pose.position.x, pose.position.y, pose.position.z = p.x_m, p.y_m, z_m
        pose.orientation = yaw_to_quaternion(p.yaw_rad)
        return pose

    def _crane_truth(self, cid, crane, stamp):
        truth = crane.physics.truth()
        msg = CraneGroundTruth(crane_id=cid, spreader=self._pose(truth.spreader, truth.spreader_z_m),
                               sway_x_m=truth.sway_m[0], sway_y_m=truth.sway_m[1],
                               deck=self._pose(truth.deck, crane.physics.layout.bay.deck_height_m),
                               deck_vehicle_id=crane.vehicle_id or '')
        msg.header.stamp, msg.header.frame_id = stamp, f'{cid}/crane'
        msg.containers = [ContainerPose(container_id=box, pose=self._pose(b.pose, b.z_m), supported=b.supported,
                                        locked_corners=b.locked_corners) for box, b in truth.containers.items()]
        return msg

    def _publish_diagnostics(self, stamp, stale):
        statuses = []
        for vid, sim in self.world.vehicles.items():
            waiting = vid in stale and self.world.t_s > 5.0
            statuses.append(diagnostic(
                f'{self.get_name()}: {vid}', vid, DiagnosticStatus.WARN if waiting else DiagnosticStatus.OK,
                'no valid drive command: braking/holding' if vid in stale else 'following commands',
                {'sim_time_s': f'{self.world.t_s:.2f}', 'speed_mps': f'{sim.model.state.speed_mps:.3f}',
                 'payload_kg': f'{sim.model.payload_kg:.0f}', 'cargo': ' '.join(self.world.cargo.get(vid, {})),
                 'rejected_commands': self._rejected['drive'], 'real_time_factor': self.rtf}))
        for cid, crane in self.world.cranes.items():
            statuses.append(diagnostic(
                f'{self.get_name()}: {cid}', cid, DiagnosticStatus.OK, 'physics running',
                {'vehicle_at_bay': crane.vehicle_id or '', 'physics_realtime_factor':
                 f'{crane.physics.realtime_factor():.1f}', 'rejected_commands': self._rejected['crane']}))
        array = DiagnosticArray(status=statuses)
        array.header.stamp = stamp
        self.pub_diag.publish(array)

    def destroy_node(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        for crane in self.world.cranes.values():
            crane.physics.close()
        super().destroy_node()


def main(args=None):
    run(WorldSimNode, args)
