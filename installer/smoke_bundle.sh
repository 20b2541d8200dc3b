#!/usr/bin/env bash
# Build the bundle and check that it runs: `--help` (the command line) and `--selftest`
# (compose a 4-bar piece headless, write it as MIDI, read it back).
# When the repository has no trained model yet (checkpoints/default missing) and
# MUSER_BUNDLE_CHECKPOINTS is unset, an untrained tiny checkpoint is made and bundled instead,
# so the smoke test still exercises the whole path; the music it makes is noise.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MUSER_VENV:-$ROOT/.venv}"
bash "$ROOT/installer/setup.sh"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
if [ -z "${MUSER_BUNDLE_CHECKPOINTS:-}" ] && [ ! -d "$ROOT/checkpoints/default" ]; then
    echo "[smoke] no checkpoints/default: bundling an untrained tiny checkpoint for this test" >&2
    mkdir -p "$TMP/checkpoints"
    "$VENV/bin/python" -c "import sys; from musER.testing import tiny_checkpoint; tiny_checkpoint(sys.argv[1])" \
        "$TMP/checkpoints/default"
    [ -f "$ROOT/checkpoints/emotion_classifier.json" ] && cp "$ROOT/checkpoints/emotion_classifier.json" "$TMP/checkpoints/"
    export MUSER_BUNDLE_CHECKPOINTS="$TMP/checkpoints"
fi
bash "$ROOT/installer/build_bundle.sh"
EXE="$ROOT/installer/dist/muser-studio/muser-studio"
echo "[smoke] $EXE --help" >&2
"$EXE" --help >/dev/null
echo "[smoke] $EXE --selftest" >&2
# Run from an empty folder with no MUSER_CHECKPOINT, so only what is inside the bundle is used.
(cd "$TMP" && env -u MUSER_CHECKPOINT QT_QPA_PLATFORM=offscreen "$EXE" --selftest)
echo "[smoke] bundle OK" >&2
