#!/usr/bin/env bash
# Create .venv (if missing) and install pagelens with every extra, pinned by constraints.txt so pip takes
# the CPU build of torch. Safe to re-run: pip runs only when the dependencies changed, i.e. when the hash of
# pyproject.toml + constraints.txt + this script differs from the one stamped in .venv by the last install
# (PAGELENS_REINSTALL=1 forces it).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
STAMP=.venv/.pagelens-install-stamp
wanted=$(cat pyproject.toml constraints.txt scripts/install.sh | sha256sum | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ "${PAGELENS_REINSTALL:-0}" != 1 ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$wanted" ]; then
  exit 0  # installed from these very files already
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
rm -f "$STAMP"
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -c constraints.txt -e ".[server,datasets,eval,samples,dev,mcp,langchain,llamaindex]"
echo "$wanted" >"$STAMP"
