"""The automated rail-mounted gantry crane (RMG) of a crane bay: physics, motion, anti-sway, the cycle.

World side: `physics.CranePhysics` (the MuJoCo model built from `params.CraneParams`, stepped, with
simulated sensors and offscreen cameras). Controller side: `cycle.CycleExecutor` (pick and place phase by
phase, interlocks, fine positioning through an alignment provider), fed only `interface.CraneSensors` and
`interface.VehicleReport`, answering `interface.CraneCommand`. `bench` runs the two together.

Crane frame (REP 103): origin on the ground under the middle of the deck of a vehicle stopped exactly at
the bay's stop point; x along the lane's direction of travel (the rails), y to the left (trolley), z up.
"""
