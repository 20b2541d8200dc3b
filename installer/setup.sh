#!/usr/bin/env bash
# Create or refresh the project's virtual environment (.venv in the repository root) with
# torch, the app (editable) and its GUI and test extras. Safe to run again: when nothing
# changed since the last successful run it returns in well under a second.
#
#   bash installer/setup.sh            # what run-app.sh and run-tests.sh call first
#
# Environment:
#   MUSER_VENV         where the environment lives (default: <repo>/.venv)
#   MUSER_PYTHON       interpreter to build it from (default: python3.11, 3.12, 3.13, 3.10, python3)
#   MUSER_TORCH_INDEX  extra package index for the CPU build of torch
#                      (default: https://download.pytorch.org/whl/cpu; set to "" to use only
#                      your normal pip configuration)
#   MUSER_AUDIO        set to 1 (run-app.sh does) to also install PySide6-Addons (about 175 MB), which holds
#                      QtMultimedia: without it the app plays no sound (it shows "no audio output"
#                      and moves the playhead; WAV export works either way)
#   MUSER_FORCE_SETUP  set to 1 to reinstall even if the environment looks up to date
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MUSER_VENV:-$ROOT/.venv}"
STAMP="$VENV/.muser-setup-stamp"

# Pins the installer uses (pyproject.toml keeps the honest ranges).
TORCH_PIN="torch==2.13.0"          # CPU build when no NVIDIA GPU is present
TORCH_RANGE="torch>=2.2,<2.15"     # any build, used when nvidia-smi finds a GPU
PYSIDE_PIN="PySide6-Essentials==6.11.2"  # 6.12.0 leaks a reference to True on every Signal.emit
PYSIDE_MIN="6.8"
PYSIDE_BELOW="6.12"
TINYSOUNDFONT_PIN="tinysoundfont==0.3.7"  # the app's piano sound; optional (see below)

say() { printf '[setup] %s\n' "$*" >&2; }

have_gpu() {
    command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1
}

pick_python() {
    local candidates=("${MUSER_PYTHON:-}" python3.11 python3.12 python3.13 python3.10 python3)
    local py
    for py in "${candidates[@]}"; do
        [ -n "$py" ] || continue
        command -v "$py" >/dev/null 2>&1 || continue
        if "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
            echo "$py"
            return 0
        fi
    done
    say "no Python 3.10 or newer found; install one or set MUSER_PYTHON"
    return 1
}

fingerprint() {
    # Anything that should trigger a reinstall when it changes.
    {
        cat "$ROOT/pyproject.toml" "$ROOT/installer/setup.sh"
        "$PY" -c 'import sys; print(sys.version)'
        have_gpu && echo gpu || echo cpu
        echo "$ROOT audio=${MUSER_AUDIO:-0}"
    } | sha256sum | cut -d' ' -f1
}

# Prints nothing and exits 0 when every needed distribution is present in a usable version
# and musER/gui resolve to this checkout; otherwise prints what is missing.
check_env() {
    "$PY" -I - "$ROOT" "$1" "$PYSIDE_MIN" "$PYSIDE_BELOW" "${MUSER_AUDIO:-0}" <<'EOF'
import importlib.metadata as md
import importlib.util
import os
import sys

root, want_gpu, pyside_min, pyside_below = sys.argv[1], sys.argv[2] == "gpu", sys.argv[3], sys.argv[4]
want_audio = sys.argv[5] == "1"


def vtuple(text):
    out = []
    for part in text.split("+")[0].split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)


problems = []
try:
    torch_v = md.version("torch")
    if not (vtuple("2.2") <= vtuple(torch_v) < vtuple("2.15")):
        problems.append(f"torch {torch_v} outside >=2.2,<2.15")
    elif want_gpu and "+cpu" in torch_v:
        problems.append(f"torch {torch_v} is a CPU build but a GPU is present")
except md.PackageNotFoundError:
    problems.append("torch missing")
try:
    pyside_v = md.version("PySide6-Essentials")
    if not (vtuple(pyside_min) <= vtuple(pyside_v) < vtuple(pyside_below)):
        problems.append(f"PySide6-Essentials {pyside_v} outside >={pyside_min},<{pyside_below}")
except md.PackageNotFoundError:
    problems.append("PySide6-Essentials missing")
if want_audio:
    try:
        if md.version("PySide6-Addons") != md.version("PySide6-Essentials"):
            problems.append("PySide6-Addons version differs from PySide6-Essentials")
    except md.PackageNotFoundError:
        problems.append("PySide6-Addons missing (audio)")
for dist in ("muser-studio", "pyqtgraph", "pytest", "pytest-qt", "import-linter", "ruff"):
    try:
        md.version(dist)
    except md.PackageNotFoundError:
        problems.append(f"{dist} missing")
for pkg in ("musER", "gui"):
    spec = importlib.util.find_spec(pkg)
    origin = os.path.realpath(spec.origin) if spec and spec.origin else ""
    if not origin.startswith(os.path.realpath(root) + os.sep):
        problems.append(f"{pkg} does not come from {root}")
print("; ".join(problems))
EOF
}

# ---- the environment itself -------------------------------------------------------------
PY_BASE="$(pick_python)"
if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV with $PY_BASE"
    "$PY_BASE" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

MODE=cpu
have_gpu && MODE=gpu
FP="$(fingerprint)"

if [ "${MUSER_FORCE_SETUP:-0}" != 1 ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$FP" ]; then
    missing="$(check_env "$MODE")"
    if [ -z "$missing" ]; then
        exit 0  # up to date
    fi
    say "environment changed: $missing"
fi
rm -f "$STAMP"

# ---- torch first, so the project install does not pull a multi-GB CUDA build -----------
torch_problem="$(check_env "$MODE" | tr ';' '\n' | grep -i torch || true)"
if [ -n "$torch_problem" ]; then
    if [ "$MODE" = gpu ]; then
        say "NVIDIA GPU found: installing the default torch build ($TORCH_RANGE)"
        if echo "$torch_problem" | grep -q "CPU build"; then
            "${PIP[@]}" uninstall -y torch  # a CPU build satisfies the range, so pip would keep it
        fi
        "${PIP[@]}" install "$TORCH_RANGE"
    else
        say "no NVIDIA GPU: installing the CPU build of $TORCH_PIN"
        # A local wheelhouse (pip's find-links) that already holds the CPU build is used as is;
        # otherwise the CPU index is added, whose "+cpu" wheel outranks PyPI's CUDA build.
        if "${PIP[@]}" install -q --no-deps --no-index "$TORCH_PIN" 2>/dev/null; then
            "${PIP[@]}" install "$TORCH_PIN"  # its small dependencies, from the normal index
        elif [ -n "${MUSER_TORCH_INDEX-https://download.pytorch.org/whl/cpu}" ]; then
            "${PIP[@]}" install "$TORCH_PIN" \
                --extra-index-url "${MUSER_TORCH_INDEX-https://download.pytorch.org/whl/cpu}"
        else
            "${PIP[@]}" install "$TORCH_PIN"
        fi
    fi
fi

# ---- Qt: a version without the Signal.emit reference leak --------------------------------
if check_env "$MODE" | grep -qE "PySide6-Essentials( missing| [0-9])"; then
    say "installing $PYSIDE_PIN"
    "${PIP[@]}" install "$PYSIDE_PIN"
fi

# ---- optional: QtMultimedia for sound in the app ----------------------------------------
if [ "${MUSER_AUDIO:-0}" = 1 ] && check_env "$MODE" | grep -q "PySide6-Addons"; then
    qt_version="$("$PY" -c 'import importlib.metadata as m; print(m.version("PySide6-Essentials"))')"
    say "installing PySide6-Addons==$qt_version (QtMultimedia, for sound)"
    "${PIP[@]}" install "PySide6-Addons==$qt_version"
fi

# ---- the project, editable, with the GUI and test extras -------------------------------
say "installing the project (editable) with the gui and test extras"
"${PIP[@]}" install -e "${ROOT}[gui,test]"

# ---- optional: a sampled piano for playback and WAV export --------------------------------
# tinysoundfont plays the grand piano of the soundfont pretty_midi ships. Its declared pyaudio
# dependency is only for live output, which the app does through Qt, and would need PortAudio's
# headers to build, hence --no-deps; without a wheel for this platform the app falls back to its
# built-in synthesiser.
if ! "${PIP[@]}" install -q --no-deps --only-binary=:all: "$TINYSOUNDFONT_PIN"; then
    say "no $TINYSOUNDFONT_PIN wheel here: the app will play through its built-in synthesiser"
fi

missing="$(check_env "$MODE")"
if [ -n "$missing" ]; then
    say "setup finished but the environment is still incomplete: $missing"
    exit 1
fi
# librosa's beat tracker is compiled into numba's on-disk cache on its first run: done here, in
# one process, so later processes only read it. Once, in a fresh environment, a bench and the
# tests both compiling it at the same moment left a cache that crashed every later run.
"$PY" -c 'import numpy as np; from musER.beats import estimate_beats; estimate_beats(np.arange(8) * 0.5, np.full(8, 64))'
echo "$FP" > "$STAMP"
say "ready: $VENV"
