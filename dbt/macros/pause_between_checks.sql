{#-
  pause_between_checks(seconds): wait `seconds` between two checks of `run_policy_workflow(wait=true)`.
  dbt's Jinja has no sleep, so the warehouse sleeps:

    DuckDB     sleep_ms() (a DuckDB function). The warehouse file is detached while it sleeps: one
               process may write a DuckDB file at a time, and the worker must write the executions'
               rows meanwhile. When this dbt holds the warehouse lease (dbt/plugins/warehouse_lease.py)
               it marks the lease paused meanwhile (`<file>.lease-paused`), so that the worker opens
               the file. It is attached again (same name, same path, same schema) afterwards, a
               moment after the pause ends (the worker closes the file when it sees the lease back);
               a lock held at that moment is retried by the profile's `retries`.
    Snowflake  SYSTEM$WAIT (the warehouse stays up while it waits).
-#}
{% macro pause_between_checks(seconds) %}
  {{ return(adapter.dispatch('pause_between_checks', 'policy_execution')(seconds | int)) }}
{% endmacro %}


{% macro duckdb__pause_between_checks(seconds) %}
  {%- set here = dbt.run_query(
      "select current_database(), current_schema(), (select path from duckdb_databases()"
      ~ " where database_name = current_database())").rows[0] -%}
  {%- set database, schema, path = here[0], here[1], here[2] -%}
  {%- set on_file = path is not none and path != '' and not path.startswith('md:') -%}
  {%- set lease = path ~ '.lease' if on_file else none -%}
  {%- set leased = false -%}
  {%- if on_file -%}
    {%- do dbt.run_query("attach if not exists ':memory:' as policy_execution_idle; use policy_execution_idle; detach "
        ~ adapter.quote(database)) -%}
    {#- A run-operation's lease is this one's (taken by dbt/plugins/warehouse_lease.py). -#}
    {%- set pid = none -%}
    {%- if dbt.run_query("select count(*) from glob(" ~ sql_str(lease) ~ ")").rows[0][0] > 0 -%}
      {%- set holders = dbt.run_query("select pid from read_json_auto(" ~ sql_str(lease)
          ~ ") where holder like 'dbt run-operation%'").rows -%}
      {%- set pid = holders[0][0] if holders | length > 0 else none -%}
    {%- endif -%}
    {%- set leased = pid is not none -%}
    {%- if leased -%}{%- do duckdb__mark_lease_paused(lease, pid, true) -%}{%- endif -%}
  {%- endif -%}
  {%- do dbt.run_query('select sleep_ms(' ~ (seconds * 1000) ~ ')') -%}
  {%- if on_file -%}
    {%- if leased -%}
      {%- do duckdb__mark_lease_paused(lease, pid, false) -%}
      {%- do dbt.run_query('select sleep_ms(300)') -%}
    {%- endif -%}
    {%- do dbt.run_query('attach ' ~ sql_str(path) ~ ' as ' ~ adapter.quote(database) ~ '; use '
        ~ adapter.quote(database) ~ '.' ~ adapter.quote(schema)) -%}
  {%- endif -%}
{% endmacro %}


{#- Write `<lease>-paused` ({pid, paused}) for the lease this dbt holds (one JSON line). -#}
{% macro duckdb__mark_lease_paused(lease, pid, paused) %}
  {%- do dbt.run_query("copy (select " ~ (pid | int) ~ " as pid, "
      ~ ('true' if paused else 'false') ~ " as paused) to " ~ sql_str(lease ~ '-paused') ~ " (format json)") -%}
{% endmacro %}


{% macro snowflake__pause_between_checks(seconds) %}
  {%- do dbt.run_query('select system$wait(' ~ seconds ~ ", 'SECONDS')") -%}
{% endmacro %}


{% macro default__pause_between_checks(seconds) %}
  {{ exceptions.raise_compiler_error(
      "run_policy_workflow: wait is supported on DuckDB and Snowflake, not on " ~ target.type) }}
{% endmacro %}
