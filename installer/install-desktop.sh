#!/usr/bin/env bash
# Add MusER Studio to the desktop's application menu (current user only, no root needed):
# the .desktop entry goes to ~/.local/share/applications, the icon to ~/.local/share/icons.
#
#   bash installer/install-desktop.sh             # launch the app from this checkout's .venv
#   bash installer/install-desktop.sh --bundle    # launch the PyInstaller bundle instead
#   bash installer/install-desktop.sh --uninstall
#
# The entry's Exec line is `muser-gui`; it is replaced by an absolute path to this checkout's
# .venv/bin/muser-gui (or, with --bundle, installer/dist/muser-studio/muser-studio gui), because
# neither is on the menu's PATH. If neither exists, `muser-gui` is kept (a pip-installed app).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MUSER_VENV:-$ROOT/.venv}"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
APPS="$DATA/applications"
ICONS="$DATA/icons/hicolor"

refresh() {
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$APPS" || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1; then
        gtk-update-icon-cache -q -t "$ICONS" 2>/dev/null || true
    fi
}

case "${1:-}" in
    --uninstall)
        rm -f "$APPS/muser-studio.desktop" "$ICONS/scalable/apps/muser-studio.svg" \
              "$ICONS/256x256/apps/muser-studio.png"
        refresh
        echo "removed MusER Studio from the application menu"
        exit 0 ;;
    --bundle)
        EXEC="$ROOT/installer/dist/muser-studio/muser-studio"
        [ -x "$EXEC" ] || { echo "no bundle at $EXEC; build it with: bash installer/build_bundle.sh" >&2; exit 1; }
        EXEC="\"$EXEC\" gui" ;;
    "")
        if [ -x "$VENV/bin/muser-gui" ]; then
            EXEC="\"$VENV/bin/muser-gui\""
        else
            EXEC="muser-gui"
            echo "note: $VENV/bin/muser-gui not found (run: bash installer/setup.sh); the entry runs" \
                 "'muser-gui' from PATH" >&2
        fi ;;
    *) echo "usage: $0 [--bundle | --uninstall]" >&2; exit 2 ;;
esac

mkdir -p "$APPS" "$ICONS/scalable/apps" "$ICONS/256x256/apps"
install -m 644 "$ROOT/installer/icons/muser-studio.svg" "$ICONS/scalable/apps/muser-studio.svg"
install -m 644 "$ROOT/installer/icons/muser-studio.png" "$ICONS/256x256/apps/muser-studio.png"
# Exec is the only line rewritten; a path with spaces stays quoted as the spec asks.
sed "s|^Exec=muser-gui\$|Exec=${EXEC//|/\\|}|" "$ROOT/installer/muser-studio.desktop" > "$APPS/muser-studio.desktop.tmp"
chmod 644 "$APPS/muser-studio.desktop.tmp"
mv "$APPS/muser-studio.desktop.tmp" "$APPS/muser-studio.desktop"
refresh
echo "installed $APPS/muser-studio.desktop (Exec=$EXEC)"
