#!/usr/bin/env bash
# Create .venv (if missing) and install pagelens with every extra, pinned by constraints.txt so pip takes
# the CPU build of torch. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -c constraints.txt -e ".[server,datasets,eval,dev]"
