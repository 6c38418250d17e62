"""Localization node: fuses GNSS, wheel odometry and IMU into a pose in the map frame, with status and diagnostics."""
