# SmartGate: `make demo` and `make test` set up whatever is missing first (scripts/setup.sh).
SHELL := /bin/bash
.PHONY: setup demo test test-fast clean

setup:
	@bash scripts/setup.sh

demo: setup
	@source scripts/env.sh && smartgate demo

test: setup
	@bash scripts/run_tests.sh

test-fast: setup
	@bash scripts/run_tests.sh -m "not system"

clean:
	rm -rf ros2_ws/build ros2_ws/install ros2_ws/log ros2_ws/build.log results
