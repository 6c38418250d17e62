#!/usr/bin/env bash
# One idempotent setup for a fresh Debian/Ubuntu x86_64 machine with Python 3.11:
# system packages the tests need, a venv at .venv with pinned ROS 2 Kilted wheels and the project's
# dependencies, the CMake-export fix for the interface wheels, a colcon build of ros2_ws, and the
# `smartgate` entry point in .venv/bin. Each step is skipped when its inputs have not changed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
WS="$ROOT/ros2_ws"
PYTHON="${PYTHON:-python3.11}"
step() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

# 1. Debian packages: Mosquitto (MQTT tests), Gazebo's SDF parser, urdfdom's check_urdf.
missing=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v ign >/dev/null 2>&1 || missing+=(libsdformat-dev ignition-tools)
command -v check_urdf >/dev/null 2>&1 || missing+=(liburdfdom-tools)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    step "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    step "WARNING: no apt-get; install these yourself: ${missing[*]}" >&2
  fi
fi

# 2. The venv and pinned Python packages (skipped when requirements and constraints are unchanged).
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || { echo "setup: Python 3.11 is required (the ROS 2 Kilted wheels are cp311); found $("$PYTHON" --version)" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || { step "creating venv at .venv"; "$PYTHON" -m venv "$VENV"; }
req_hash="$(cat "$ROOT/requirements.txt" "$ROOT/constraints.txt" | sha256sum | cut -c1-16)"
if [ "$(cat "$VENV/.requirements.sha" 2>/dev/null)" != "$req_hash" ]; then
  step "installing pinned Python packages (ROS 2 Kilted wheels, numpy, shapely, pyproj, ...)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    -r "$ROOT/requirements.txt" -c "$ROOT/constraints.txt" 2> >(grep -v "is ignored: it is neither" >&2)
  # The interface wheels' CMake exports name include directories of the machine they were built on.
  py_inc="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
  np_inc="$("$VENV/bin/python" -c 'import numpy; print(numpy.get_include())')"
  # (none left to fix when an existing venv only gained a package: grep finds nothing, which is fine)
  { grep -rlE '/opt/python/cp311-cp311' "$VENV/share" --include='*Export.cmake' 2>/dev/null || true; } | while read -r f; do
    sed -i -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$np_inc#g" \
           -e "s#/opt/python/cp311-cp311/include/python3.11#$py_inc#g" "$f"
  done
  echo "$req_hash" > "$VENV/.requirements.sha"
fi

# 3. colcon build of the workspace (skipped when no package manifest, build file or interface changed;
#    Python sources are symlinked, so editing them needs no rebuild).
ws_hash="$(cd "$WS/src" && find . -name package.xml -o -name setup.py -o -name setup.cfg -o -name CMakeLists.txt \
  -o -name '*.msg' -o -name '*.srv' -o -name '*.action' | sort | xargs sha256sum | sha256sum | cut -c1-16)"
if [ "$(cat "$WS/install/.build.sha" 2>/dev/null)" != "$ws_hash" ] || [ ! -f "$WS/install/setup.bash" ]; then
  step "building ros2_ws with colcon"
  (
    cd "$WS"
    export CMAKE_PREFIX_PATH="$VENV" AMENT_PREFIX_PATH="$VENV" PATH="$VENV/bin:$PATH"
    "$VENV/bin/colcon" --log-base log build --symlink-install --event-handlers console_cohesion- \
      --cmake-args -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=OFF >"$WS/build.log" 2>&1 \
      || { tail -n 60 "$WS/build.log" >&2; echo "setup: colcon build failed; full log in ros2_ws/build.log" >&2; exit 1; }
  )
  echo "$ws_hash" > "$WS/install/.build.sha"
fi

# 4. The `smartgate` entry point: the venv's Python with the workspace's environment.
cat > "$VENV/bin/smartgate" <<SH
#!/usr/bin/env bash
# SmartGate command line (written by scripts/setup.sh).
source "$ROOT/scripts/env.sh"
exec "$VENV/bin/python" -m smartgate_bringup.cli "\$@"
SH
chmod +x "$VENV/bin/smartgate"
step "ready: .venv/bin/smartgate"
