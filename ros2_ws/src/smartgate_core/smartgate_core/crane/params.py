"""The crane described once: geometry, masses, drive limits. The MuJoCo model, the motion planner and the
rigid-load reference cycle are all derived from this one record (values of the simulated cranes and
their sources: config/crane.yaml)."""
from __future__ import annotations

from dataclasses import dataclass

from ..params import doc

GRAVITY_MPS2 = 9.81


@dataclass(frozen=True)
class CraneParams:
    # geometry
    sheave_height_m: float = doc(18.0, 'trolley sheaves (the rope pendulum pivot) above the ground [m]')
    headblock_height_m: float = doc(1.2, 'rope attachment on the headblock above the twistlock plane [m]')
    rope_min_m: float = doc(2.0, 'shortest rope, spreader at the top of its travel [m]')
    rope_max_m: float = doc(16.5, 'longest rope, spreader 0.3 m above the ground [m]')
    gantry_min_m: float = doc(-40.0, 'gantry travel limit towards -x along the rails [m]')
    gantry_max_m: float = doc(60.0, 'gantry travel limit towards +x along the rails [m]')
    trolley_min_m: float = doc(-6.0, 'trolley limit on the right (-y) of the lane [m]')
    trolley_max_m: float = doc(14.0, 'trolley limit over the yard (+y) [m]')
    skew_max_rad: float = doc(0.0524, 'spreader skew (slewing) range either way, 3 deg [rad]')
    spreader_min_m: float = doc(6.058, 'spreader retracted: a 20 ft box [m]')
    spreader_max_m: float = doc(12.192, 'spreader extended: a 40 ft box [m]')
    # masses
    gantry_mass_kg: float = doc(150000.0, 'gantry portal moving on the rails, without trolley [kg]')
    trolley_mass_kg: float = doc(30000.0, 'trolley with hoist machinery [kg]')
    spreader_mass_kg: float = doc(10000.0, 'telescopic spreader with headblock [kg]')
    max_payload_kg: float = doc(32500.0, 'rated load under the spreader (ISO 668 40 ft gross) [kg]')
    # speed and acceleration limits of the motion plans
    gantry_speed_mps: float = doc(3.0, 'gantry travel speed [m/s]')
    gantry_accel_mps2: float = doc(0.5, 'gantry acceleration and deceleration [m/s^2]')
    trolley_speed_mps: float = doc(1.167, 'trolley speed, 70 m/min [m/s]')
    trolley_accel_mps2: float = doc(0.5, 'trolley acceleration and deceleration [m/s^2]')
    hoist_speed_laden_mps: float = doc(0.6, 'hoist speed with a container, 36 m/min [m/s]')
    hoist_speed_empty_mps: float = doc(1.0, 'hoist speed with the empty spreader, 60 m/min [m/s]')
    hoist_accel_mps2: float = doc(0.5, 'hoist acceleration and deceleration [m/s^2]')
    skew_speed_radps: float = doc(0.02, 'skew rate [rad/s]')
    skew_accel_radps2: float = doc(0.05, 'skew acceleration [rad/s^2]')
    twistlock_time_s: float = doc(0.8, 'twistlock rotation, lock or unlock [s]')
    telescope_speed_mps: float = doc(0.4, 'each end beam of the telescopic spreader (20 <-> 40 ft in ~8 s) [m/s]')
    # drives: velocity servos with force limits (the limits above are planned; the drives can do a
    # little more, which feedback uses)
    gantry_force_n: float = doc(180000.0, 'gantry drive force limit: 0.8 m/s^2 fully laden [N]')
    trolley_force_n: float = doc(60000.0, 'trolley drive force limit: 0.8 m/s^2 fully laden [N]')
    hoist_force_n: float = doc(520000.0, 'hoist pull limit (ropes only pull) [N]')
    skew_torque_nm: float = doc(400000.0, 'skew drive torque limit [N m]')
    servo_time_constant_s: float = doc(0.05, 'speed loop time constant of the drives (what each moves rigidly) [s]')
    # contact
    friction: float = doc(0.4, 'steel-on-steel friction of corner castings on decks, boxes and slots')

    def hoist_speed_mps(self, laden: bool) -> float:
        """Hoist speed limit, laden or with the empty spreader [m/s]."""
        return self.hoist_speed_laden_mps if laden else self.hoist_speed_empty_mps

    def rope_for_height(self, spreader_z_m: float) -> float:
        """Rope length that puts the twistlock plane at this height above the ground [m]."""
        return self.sheave_height_m - self.headblock_height_m - spreader_z_m

    def height_for_rope(self, rope_m: float) -> float:
        """Height of the twistlock plane above the ground for this rope length [m]."""
        return self.sheave_height_m - self.headblock_height_m - rope_m
