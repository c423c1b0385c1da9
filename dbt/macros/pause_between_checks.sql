{#-
  pause_between_checks(seconds): wait `seconds` between two checks of `run_policy_workflow(wait=true)`.
  dbt's Jinja has no sleep, so the warehouse sleeps:

    DuckDB     sleep_ms() (a DuckDB function). The warehouse file is detached while it sleeps: one
               process may write a DuckDB file at a time, and the worker must write the executions'
               rows meanwhile. It is attached again (same name, same path, same schema) afterwards;
               a lock held by the worker at that moment is retried by the profile's `retries`.
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
  {%- if on_file -%}
    {%- do dbt.run_query("attach if not exists ':memory:' as policy_execution_idle; use policy_execution_idle; detach "
        ~ adapter.quote(database)) -%}
  {%- endif -%}
  {%- do dbt.run_query('select sleep_ms(' ~ (seconds * 1000) ~ ')') -%}
  {%- if on_file -%}
    {%- do dbt.run_query('attach ' ~ sql_str(path) ~ ' as ' ~ adapter.quote(database) ~ '; use '
        ~ adapter.quote(database) ~ '.' ~ adapter.quote(schema)) -%}
  {%- endif -%}
{% endmacro %}


{% macro snowflake__pause_between_checks(seconds) %}
  {%- do dbt.run_query('select system$wait(' ~ seconds ~ ", 'SECONDS')") -%}
{% endmacro %}


{% macro default__pause_between_checks(seconds) %}
  {{ exceptions.raise_compiler_error(
      "run_policy_workflow: wait is supported on DuckDB and Snowflake, not on " ~ target.type) }}
{% endmacro %}
