"""Driving: route tracking control, its benchmark baselines, and the safety monitor."""
