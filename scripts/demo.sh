#!/usr/bin/env bash
# The main job, from a fresh clone: install, index a folder of PDFs into Milvus Lite, search it.
#   bash scripts/demo.sh [PATH...]     (default: ../shared/corpus/docs/byaldi)
# Model: $PAGELENS_MODEL (a hub name or a local checkpoint folder), default vidore/colSmol-256M. When that
# model can be neither found locally nor downloaded, a tiny randomly initialised ColQwen2 is built instead so
# the pipeline still runs end to end (its rankings are meaningless) and the demo says so.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
[ $# -gt 0 ] || set -- ../shared/corpus/docs/byaldi
MODEL="${PAGELENS_MODEL:-vidore/colSmol-256M}"
INDEX="${PAGELENS_INDEX:-pagelens_index}"
if ! .venv/bin/python -c "import sys; from pagelens.embed.checkpoint import locate_checkpoint; locate_checkpoint(sys.argv[1])" "$MODEL" 2>/tmp/pagelens-demo-model.err; then
  echo "notice: $(tail -n 1 /tmp/pagelens-demo-model.err)" >&2
  echo "notice: using a tiny randomly initialised ColQwen2 instead (rankings are meaningless; the pipeline is real)" >&2
  [ -f .demo-model/config.json ] || .venv/bin/python -m pagelens.testing.tiny_models colqwen2 .demo-model >/dev/null
  MODEL=.demo-model
  INDEX=pagelens_index_tiny
fi
set +e
.venv/bin/pagelens index "$@" --index "$INDEX" --model "$MODEL"
status=$?
set -e
[ "$status" -eq 0 ] || [ "$status" -eq 3 ] || exit "$status"
.venv/bin/pagelens status --index "$INDEX"
for query in "Where is the table comparing model performance?" "quarterly revenue chart"; do
  echo "== $query"
  .venv/bin/pagelens search "$query" --index "$INDEX" -k 3
done
