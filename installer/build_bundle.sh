#!/usr/bin/env bash
# Build the standalone bundle with PyInstaller: installer/dist/muser-studio/muser-studio
# (one folder holding Python, CPU torch, Qt, the app and the shipped model).
#
# Environment:
#   MUSER_BUNDLE_CHECKPOINTS  folder with default/ and emotion_classifier.json to ship
#                             (default: the repository's checkpoints/)
#   MUSER_PYINSTALLER         PyInstaller requirement to install (default: pyinstaller>=6.10)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MUSER_VENV:-$ROOT/.venv}"
bash "$ROOT/installer/setup.sh"
if ! "$VENV/bin/python" -c "import PyInstaller" 2>/dev/null; then
    echo "[bundle] installing PyInstaller into $VENV" >&2
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q "${MUSER_PYINSTALLER:-pyinstaller>=6.10}"
fi
cd "$ROOT"
"$VENV/bin/python" -m PyInstaller --noconfirm --log-level WARN \
    --distpath installer/dist --workpath installer/build installer/muser_bundle.spec
OUT="$ROOT/installer/dist/muser-studio"
echo "[bundle] built $OUT ($(du -sh "$OUT" | cut -f1))" >&2
