#!/usr/bin/env bash
# make demo: bring up the local stack (unless it is already up), run the usage guide's sample policy
# end to end, print the state row read back from the warehouse and the Web UI link, and stop what it
# started (keep it running with 'make up' instead). WAREHOUSE=snowflake make demo does the same on
# Snowflake: the emulator, started by the stack, unless SNOWFLAKE_HOST / SNOWFLAKE_ACCOUNT point
# elsewhere (devtools/warehouse-env.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export TEMPORAL_PORT=${TEMPORAL_PORT:-7233} TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-8233}
export TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:$TEMPORAL_PORT}
export TEMPORAL_UI_URL=${TEMPORAL_UI_URL:-http://localhost:$TEMPORAL_UI_PORT}
# shellcheck source=devtools/warehouse-env.sh
. devtools/warehouse-env.sh

if devtools/stack.sh is-up; then
  running=$(devtools/stack.sh warehouse)
  if [ "$running" != "$WAREHOUSE" ]; then
    echo "demo: the running local stack writes $running, not $WAREHOUSE; stop it first with 'make down'" >&2
    exit 1
  fi
  echo "using the running local stack (make down stops it)"
else
  # Set first, so that a stack that fails half-way up is taken down too.
  trap 'echo; echo "stopping the stack started for the demo (use make up to keep one running)"; devtools/stack.sh down' EXIT
  devtools/stack.sh up
fi

id="demo-$(date -u +%Y%m%d-%H%M%S)"
echo
echo "== running the guide's sample policy (examples/sample-policy.json) as workflow $id"
node dist/cli/index.js start --policy examples/sample-policy.json --id "$id" --wait
echo
echo "== state row read back from the warehouse ($WAREHOUSE_LABEL, table policy_execution_state)"
node dist/cli/index.js status "$id"
echo
echo "Web UI: $TEMPORAL_UI_URL/namespaces/default/workflows/$id"
