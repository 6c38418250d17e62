"""Simulator node: a car-like driverless container vehicle with actuator lag and seeded GNSS, wheel-odometry and IMU models, publishing /clock."""
