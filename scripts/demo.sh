#!/usr/bin/env bash
# The main job, from a fresh clone: install, index a folder of documents into Milvus Lite, search it.
#   bash scripts/demo.sh [PATH...]
# With no PATH it writes the project's own sample documents (reports with tables and charts, a research
# paper, a climate brief, scanned pages, a JPEG scan, a PNG chart: `python -m pagelens.samples`) into
# pagelens_samples/ and indexes those.
# Model: $PAGELENS_MODEL (a hub name or a local checkpoint folder), default vidore/colSmol-256M. When that
# model can be neither found locally nor downloaded, a tiny randomly initialised ColQwen2 is built instead so
# the pipeline still runs end to end (its rankings are meaningless) and the demo says so.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
if [ $# -eq 0 ]; then
  .venv/bin/python -m pagelens.samples pagelens_samples >/dev/null
  echo "sample documents written to pagelens_samples/"
  set -- pagelens_samples
fi
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
for query in "quarterly revenue chart" "table comparing BLEU scores" "electricity mix by source" "invoice total due"; do
  echo "== $query"
  .venv/bin/pagelens search "$query" --index "$INDEX" -k 3
done
