# Sourced by devtools/stack.sh and devtools/demo.sh: the warehouse the local stack writes.
#
#   WAREHOUSE unset or duckdb  the DuckDB file WAREHOUSE_PATH (.local/warehouse.duckdb)
#   WAREHOUSE=snowflake        the SNOWFLAKE_* settings (docs/snowflake.md); without SNOWFLAKE_HOST,
#                              the Snowflake emulator on 127.0.0.1:$SNOWFLAKE_EMULATOR_PORT (8790),
#                              started by the stack, with its data in .local/snowflake-emulator and
#                              the emulator's stand-in account, user and password (any are accepted)
#
# Sets WAREHOUSE, WAREHOUSE_LABEL (for messages) and SNOWFLAKE_EMULATOR (1: the stack's emulator;
# exported, so that the scripts this one's caller runs make the same choice).
WAREHOUSE=$(printf '%s' "${WAREHOUSE:-duckdb}" | tr '[:upper:]' '[:lower:]')
export WAREHOUSE
case "$WAREHOUSE" in
  duckdb)
    export WAREHOUSE_PATH=${WAREHOUSE_PATH:-.local/warehouse.duckdb}
    WAREHOUSE_LABEL="DuckDB file $WAREHOUSE_PATH"
    export SNOWFLAKE_EMULATOR=0
    ;;
  snowflake)
    if [ "${SNOWFLAKE_EMULATOR:-}" = 1 ] || { [ -z "${SNOWFLAKE_HOST:-}" ] && [ -z "${SNOWFLAKE_ACCOUNT:-}" ]; }; then
      export SNOWFLAKE_EMULATOR=1
      SNOWFLAKE_EMULATOR_PORT=${SNOWFLAKE_EMULATOR_PORT:-8790}
      export SNOWFLAKE_HOST=127.0.0.1 SNOWFLAKE_PORT=$SNOWFLAKE_EMULATOR_PORT SNOWFLAKE_PROTOCOL=http
      export SNOWFLAKE_ACCOUNT=emulator SNOWFLAKE_USER=policy_worker SNOWFLAKE_PASSWORD=emulator
      export SNOWFLAKE_ROLE=${SNOWFLAKE_ROLE:-POLICY_EXECUTION} SNOWFLAKE_WAREHOUSE=${SNOWFLAKE_WAREHOUSE:-POLICY_WH}
      export SNOWFLAKE_DATABASE=${SNOWFLAKE_DATABASE:-POLICY_DB} SNOWFLAKE_SCHEMA=${SNOWFLAKE_SCHEMA:-POLICY}
      WAREHOUSE_LABEL="Snowflake emulator 127.0.0.1:$SNOWFLAKE_EMULATOR_PORT, $SNOWFLAKE_DATABASE.$SNOWFLAKE_SCHEMA"
    else
      export SNOWFLAKE_EMULATOR=0
      WAREHOUSE_LABEL="Snowflake account ${SNOWFLAKE_ACCOUNT:-?}${SNOWFLAKE_HOST:+ via $SNOWFLAKE_HOST}, ${SNOWFLAKE_DATABASE:-?}.${SNOWFLAKE_SCHEMA:-?}"
    fi
    ;;
  *)
    printf "WAREHOUSE must be 'duckdb' or 'snowflake', got '%s'\n" "$WAREHOUSE" >&2
    exit 2
    ;;
esac
