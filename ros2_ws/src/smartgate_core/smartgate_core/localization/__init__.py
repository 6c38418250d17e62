"""Localization: the pose estimator (EKF with integrity) and its sensor front end."""
