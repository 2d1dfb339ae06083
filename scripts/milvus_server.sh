#!/usr/bin/env bash
# A real Milvus server (PyPI milvus==2.3.5, embedded standalone) for pagelens' server tests.
#
#   bash scripts/milvus_server.sh install            # its own venv in .milvus-venv ($PAGELENS_MILVUS_VENV)
#   bash scripts/milvus_server.sh test [PYTEST ARGS] # install, then the `milvus_server` tests in a private
#                                                    # network namespace (default: tests/test_server_*.py)
#   bash scripts/milvus_server.sh shell [COMMAND]    # a shell (or COMMAND) in such a namespace, for poking
#                                                    # at a server by hand: python tests/milvus_server.py run
#
# Milvus 2.3.5 listens on all interfaces (gRPC 19530, etcd 2379/2380, 9091 and internal ports), whatever
# its config says. So it only ever runs inside `unshare --net`: a namespace whose only interface is its own
# loopback, shared by the server and the tests that talk to it and reachable from nowhere else. `--pid`
# puts the run in a PID namespace too: when pytest's shell (PID 1 there) ends, the kernel kills whatever
# is left, so no server outlives a run, even one killed mid-test. The test fixture itself stops the
# server's process group (setsid) at the end, and the trap below does the same if pytest dies first.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
command=${1:-help}
[ $# -gt 0 ] && shift

namespace() {
  # as root: a plain network namespace; otherwise a user namespace maps us to root inside it (-r)
  local user=()
  [ "$(id -u)" = 0 ] || user=(--map-root-user)
  if ! unshare "${user[@]}" --net true 2>/dev/null; then
    echo "milvus_server.sh: cannot create a network namespace (unshare --net failed)." >&2
    echo "The Milvus 2.3.5 server listens on all interfaces, so its tests run only inside one; skipping." >&2
    exit 1
  fi
  unshare "${user[@]}" --net --pid --fork --kill-child --mount-proc "$@"
}

case "$command" in
  install)
    "$PYTHON" tests/milvus_server.py install
    ;;
  test)
    "$PYTHON" tests/milvus_server.py install >/dev/null
    has_path=0
    for arg in "$@"; do
      case "$arg" in -*) ;; *) [ -e "${arg%%::*}" ] && has_path=1 ;; esac
    done
    [ "$has_path" = 1 ] || set -- "$@" tests/test_server_backend.py tests/test_server_search.py tests/test_server_bench_smoke.py
    pgid_file=$(mktemp)
    export PAGELENS_REQUIRE_MILVUS_SERVER=${PAGELENS_REQUIRE_MILVUS_SERVER:-1}
    export PAGELENS_MILVUS_PGID_FILE=$pgid_file PYTHON
    # shellcheck disable=SC2016 # expanded by the inner shell
    namespace bash -c '
      set -u
      ip link set lo up
      stop_servers() {
        while read -r pgid; do kill -KILL -- "-$pgid" 2>/dev/null || true; done < "$PAGELENS_MILVUS_PGID_FILE"
      }
      trap stop_servers EXIT
      "$PYTHON" -m pytest -m milvus_server -p no:cacheprovider "$@"
    ' milvus-tests "$@" || status=$?
    rm -f "$pgid_file"
    exit "${status:-0}"
    ;;
  shell)
    "$PYTHON" tests/milvus_server.py install >/dev/null
    [ $# -gt 0 ] || set -- bash
    namespace bash -c 'ip link set lo up && exec "$@"' milvus-shell "$@"
    ;;
  *)
    awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
    [ "$command" = help ] || exit 2
    ;;
esac
