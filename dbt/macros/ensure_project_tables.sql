{#-
  ensure_project_tables(): create the project's warehouse tables if they do not exist yet, so every
  dbt command works on a fresh warehouse file. Runs from `on-run-start` (dbt_project.yml) and at the
  start of every operation in this project (run-operation does not run project hooks).

    policy_execution_state     written by the worker, one row per execution (the usage guide's
                               16 columns + workflow_id, state_version, updated_at). The DDL is a
                               copy of src/warehouse/ddl.ts (DUCKDB_STATE_DDL / SNOWFLAKE_STATE_DDL)
                               and must stay identical (test/unit/dbt-project.test.ts checks it).
    policy_execution_requests  written by run_policy_workflow / policy_execution(...); the worker's
                               dispatcher starts one workflow per row (workflow id = request_id).
    policy_model_refresh_log   one row per dbt refresh run by the worker's dbtRefresh workflow.

  The tables are created in target.database / target.schema, which is where sources.yml points.
  Returns '' so that it can be used as a hook.
-#}
{% macro ensure_project_tables() %}
  {%- if execute -%}
    {%- set state = source('policy_execution', 'policy_execution_state') -%}
    {%- do adapter.create_schema(api.Relation.create(database=state.database, schema=state.schema)) -%}
    {%- for statement in project_tables_ddl() -%}
      {%- do dbt.run_query(statement) -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return('') }}
{% endmacro %}


{#- The CREATE TABLE IF NOT EXISTS statements, in order. -#}
{% macro project_tables_ddl() %}
  {{ return(adapter.dispatch('project_tables_ddl', 'policy_execution')(
      source('policy_execution', 'policy_execution_state'),
      source('policy_execution', 'policy_execution_requests'),
      source('policy_execution', 'policy_model_refresh_log'))) }}
{% endmacro %}


{% macro default__project_tables_ddl(state, requests, refresh_log) %}
{%- set state_ddl -%}
CREATE TABLE IF NOT EXISTS {{ state }} (
    execution_id VARCHAR PRIMARY KEY,
    policy_id VARCHAR,
    poll_count INTEGER DEFAULT 0,
    status VARCHAR DEFAULT 'pending',
    start_time TIMESTAMP DEFAULT (current_timestamp AT TIME ZONE 'UTC'),
    last_poll_time TIMESTAMP,
    completed BOOLEAN DEFAULT FALSE,
    requires_circuit_breaker BOOLEAN DEFAULT FALSE,
    circuit_breaker_initiated BOOLEAN DEFAULT FALSE,
    circuit_breaker_completed BOOLEAN DEFAULT FALSE,
    error_message VARCHAR,
    message VARCHAR,
    api_response JSON,
    policy_data JSON,
    policy_status_response JSON,
    circuit_breaker_response JSON,
    workflow_id VARCHAR,
    state_version INTEGER NOT NULL,
    updated_at TIMESTAMP
)
{%- endset -%}
{%- set requests_ddl -%}
CREATE TABLE IF NOT EXISTS {{ requests }} (
    request_id VARCHAR PRIMARY KEY,
    policy JSON NOT NULL,
    options JSON,
    requested_at TIMESTAMP NOT NULL,
    requested_by VARCHAR,
    status VARCHAR NOT NULL DEFAULT 'requested',
    workflow_id VARCHAR,
    dispatched_at TIMESTAMP,
    dispatch_error VARCHAR
)
{%- endset -%}
{%- set refresh_log_ddl -%}
CREATE TABLE IF NOT EXISTS {{ refresh_log }} (
    refresh_id VARCHAR PRIMARY KEY,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    success BOOLEAN,
    duration_ms INTEGER,
    rows_affected INTEGER,
    model_rows INTEGER,
    requests INTEGER,
    error VARCHAR,
    workflow_id VARCHAR
)
{%- endset -%}
  {{ return([state_ddl, requests_ddl, refresh_log_ddl]) }}
{% endmacro %}


{#- Snowflake: VARIANT for JSON, TIMESTAMP_NTZ (naive UTC) for TIMESTAMP. PRIMARY KEY is not enforced. -#}
{% macro snowflake__project_tables_ddl(state, requests, refresh_log) %}
{%- set state_ddl -%}
CREATE TABLE IF NOT EXISTS {{ state }} (
    execution_id VARCHAR PRIMARY KEY,
    policy_id VARCHAR,
    poll_count NUMBER DEFAULT 0,
    status VARCHAR DEFAULT 'pending',
    start_time TIMESTAMP_NTZ DEFAULT CURRENT_TIMESTAMP(),
    last_poll_time TIMESTAMP_NTZ,
    completed BOOLEAN DEFAULT FALSE,
    requires_circuit_breaker BOOLEAN DEFAULT FALSE,
    circuit_breaker_initiated BOOLEAN DEFAULT FALSE,
    circuit_breaker_completed BOOLEAN DEFAULT FALSE,
    error_message VARCHAR,
    message VARCHAR,
    api_response VARIANT,
    policy_data VARIANT,
    policy_status_response VARIANT,
    circuit_breaker_response VARIANT,
    workflow_id VARCHAR,
    state_version NUMBER NOT NULL,
    updated_at TIMESTAMP_NTZ
)
{%- endset -%}
{%- set requests_ddl -%}
CREATE TABLE IF NOT EXISTS {{ requests }} (
    request_id VARCHAR PRIMARY KEY,
    policy VARIANT NOT NULL,
    options VARIANT,
    requested_at TIMESTAMP_NTZ NOT NULL,
    requested_by VARCHAR,
    status VARCHAR NOT NULL DEFAULT 'requested',
    workflow_id VARCHAR,
    dispatched_at TIMESTAMP_NTZ,
    dispatch_error VARCHAR
)
{%- endset -%}
{%- set refresh_log_ddl -%}
CREATE TABLE IF NOT EXISTS {{ refresh_log }} (
    refresh_id VARCHAR PRIMARY KEY,
    started_at TIMESTAMP_NTZ,
    finished_at TIMESTAMP_NTZ,
    success BOOLEAN,
    duration_ms INTEGER,
    rows_affected INTEGER,
    model_rows INTEGER,
    requests INTEGER,
    error VARCHAR,
    workflow_id VARCHAR
)
{%- endset -%}
  {{ return([state_ddl, requests_ddl, refresh_log_ddl]) }}
{% endmacro %}
