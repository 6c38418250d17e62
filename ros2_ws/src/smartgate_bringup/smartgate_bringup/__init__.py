"""Bring-up of the SmartGate stack: the smartgate command line (demo, process supervision, MCAP recording, run reports)."""
