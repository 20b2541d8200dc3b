#!/usr/bin/env bash
# Start MusER Studio: set up the environment if needed, then run `muser-gui` with any arguments
# given here (for example: bash installer/run-app.sh --checkpoint path/to/checkpoint).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MUSER_VENV:-$ROOT/.venv}"
# the app plays sound through QtMultimedia (PySide6-Addons); MUSER_AUDIO=0 skips it
MUSER_AUDIO="${MUSER_AUDIO:-1}" bash "$ROOT/installer/setup.sh"
if [ "$(uname -s)" = Linux ] && [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
    echo "[run-app] no display found (DISPLAY and WAYLAND_DISPLAY are unset); the window cannot open." >&2
    echo "[run-app] Run this from a desktop session, or use the command line: $VENV/bin/muser --help" >&2
    exit 1
fi
exec "$VENV/bin/muser-gui" "$@"
