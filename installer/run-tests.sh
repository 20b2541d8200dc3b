#!/usr/bin/env bash
# Run the test suite: set up the environment if needed, then `python -m pytest -q` from the
# repository root with Qt offscreen. Extra arguments go to pytest
# (for example: bash installer/run-tests.sh -m "not slow" -k tokenizer).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MUSER_VENV:-$ROOT/.venv}"
bash "$ROOT/installer/setup.sh"
cd "$ROOT"
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
exec "$VENV/bin/python" -m pytest -q "$@"
