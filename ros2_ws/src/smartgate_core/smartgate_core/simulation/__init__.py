"""The fleet-scale simulator: the vehicle plant, its disturbances and sensors, the closed loop."""
