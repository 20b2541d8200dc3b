#!/usr/bin/env bash
# Static checks, no tests: ruff (style and bug patterns, configured in pyproject.toml) and
# import-linter (the library never imports the GUI or Qt; the GUI reaches the library only
# through musER.api, musER.piece, musER.errors and musER.elements).
#   bash installer/lint.sh            # check
#   bash installer/lint.sh --fix      # also let ruff apply its safe fixes
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MUSER_VENV:-$ROOT/.venv}"
bash "$ROOT/installer/setup.sh" || exit 1
cd "$ROOT" || exit 1
status=0
echo "== ruff"
"$VENV/bin/ruff" check "$@" . || status=1
echo "== import contracts"
"$VENV/bin/lint-imports" --no-cache || status=1
exit $status
