# Source me (bash): puts the project's venv and built ROS 2 workspace on the environment.
SMARTGATE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SMARTGATE_ROOT
export AMENT_PREFIX_PATH="$SMARTGATE_ROOT/.venv" CMAKE_PREFIX_PATH="$SMARTGATE_ROOT/.venv"
set +u
# shellcheck disable=SC1091
source "$SMARTGATE_ROOT/ros2_ws/install/setup.bash"
export PATH="$SMARTGATE_ROOT/.venv/bin:$PATH"
# Discovery stays on this machine unless the user says otherwise.
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
