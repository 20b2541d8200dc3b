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
# Qt's X11 plugin aborts with a vague message when system libraries are missing; name them first
if [ "$(uname -s)" = Linux ] && [ -n "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] \
        && [ "${QT_QPA_PLATFORM:-xcb}" = xcb ] && command -v ldd > /dev/null; then
    QT_DIR="$("$VENV/bin/python" -c 'import os, PySide6; print(os.path.dirname(PySide6.__file__))')/Qt"
    MISSING="$(ldd "$QT_DIR/plugins/platforms/libqxcb.so" "$QT_DIR/lib/libQt6XcbQpa.so.6" 2> /dev/null \
               | awk '/not found/ {print $1}' | sort -u)"
    # loaded at run time, so ldd cannot see it; Qt 6.5+ needs it
    if command -v ldconfig > /dev/null && ! ldconfig -p | grep -q 'libxcb-cursor\.so\.0'; then
        MISSING="$MISSING libxcb-cursor.so.0"
    fi
    if [ -n "$(echo $MISSING)" ]; then
        # Debian/Ubuntu package of each library: libxcb-icccm.so.4 -> libxcb-icccm4, libxkbcommon-x11.so.0 -> libxkbcommon-x11-0
        PACKAGES="$(for lib in $MISSING; do echo "$lib" | sed -E 's/\.so\.([0-9]+)$/ \1/' \
                    | awk '{n=tolower($1); print (n ~ /[0-9]$/ ? n "-" : n) $2}'; done | sort -u | tr '\n' ' ')"
        echo "[run-app] the window cannot open: Qt's X11 support needs system libraries this machine lacks:" >&2
        echo "[run-app]   $(echo $MISSING)" >&2
        echo "[run-app] On Debian or Ubuntu: sudo apt install ${PACKAGES% }" >&2
        exit 1
    fi
fi
exec "$VENV/bin/muser-gui" "$@"
