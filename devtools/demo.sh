#!/usr/bin/env bash
# make demo: bring up the local stack (unless it is already up), run the usage guide's sample policy
# end to end, print the state row read back from the warehouse and the Web UI link, and stop what it
# started (keep it running with 'make up' instead).
set -euo pipefail
cd "$(dirname "$0")/.."
export TEMPORAL_PORT=${TEMPORAL_PORT:-7233} TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-8233}
export TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:$TEMPORAL_PORT}
export TEMPORAL_UI_URL=${TEMPORAL_UI_URL:-http://localhost:$TEMPORAL_UI_PORT}
export WAREHOUSE_PATH=${WAREHOUSE_PATH:-.local/warehouse.duckdb}

if devtools/stack.sh is-up; then
  echo "using the running local stack (make down stops it)"
else
  devtools/stack.sh up
  trap 'echo; echo "stopping the stack started for the demo (use make up to keep one running)"; devtools/stack.sh down' EXIT
fi

id="demo-$(date -u +%Y%m%d-%H%M%S)"
echo
echo "== running the guide's sample policy (examples/sample-policy.json) as workflow $id"
node dist/cli/index.js start --policy examples/sample-policy.json --id "$id" --wait
echo
echo "== state row read back from the warehouse ($WAREHOUSE_PATH, table policy_execution_state)"
node dist/cli/index.js status "$id"
echo
echo "Web UI: $TEMPORAL_UI_URL/namespaces/default/workflows/$id"
