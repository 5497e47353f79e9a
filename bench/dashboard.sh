#!/usr/bin/env bash
# Dashboard benchmark: the large-fleet browser test (10,000 nodes, see
# tests/dashboard.rs and tests/browser/large-fleet.mjs) with a limit on the
# longest main-thread task. It prints the longest task of each phase and of
# the run, and fails when one took longer than MAX_TASK_MS. Run it alone:
# other work on the same cores makes Chromium's tasks longer.
#
#   bash bench/dashboard.sh                  # limit 200 ms
#   MAX_TASK_MS=150 bash bench/dashboard.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps

export MAX_TASK_MS=${MAX_TASK_MS:-200}
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
status=0
cargo test --test dashboard -- --exact dashboard_stays_responsive_with_10000_nodes --nocapture \
  >"$LOG" 2>&1 || status=$?
grep -E '^ok - |longest main-thread task with|the main thread stalled' "$LOG" || true
if [ "$status" -ne 0 ]; then
  tail -n 40 "$LOG"
  echo "FAIL (limit ${MAX_TASK_MS} ms)" >&2
fi
exit "$status"
