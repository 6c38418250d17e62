#!/usr/bin/env bash
# Every test of the project (unit, integration over DDS, system), in the project's environment.
# Extra arguments go to pytest (e.g. -m "not system", -k localization).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck disable=SC1091
source scripts/env.sh
exec python -m pytest "$@"
