{#-
  The usage guide's "Cleanup Old Executions":

    dbt run-operation cleanup_policy_executions                                   # hours: 1
    dbt run-operation cleanup_policy_executions --args '{hours: 24, include_errors: true}'

  deletes rows of policy_execution_state that are completed (completed = TRUE) and started more
  than `hours` hours ago (start_time is naive UTC, compared with the current UTC time); with
  include_errors, old `error` rows too. In-flight executions are never deleted. Prints the number
  of rows deleted. policy_execution_model drops the deleted executions on its next run.
-#}
{% macro cleanup_policy_executions(hours=1, include_errors=false) %}
  {%- if not execute -%}
    {{ return(0) }}
  {%- endif -%}
  {%- set hours_value = hours | float(-1) -%}
  {%- if hours_value < 0 -%}
    {{ exceptions.raise_compiler_error("cleanup_policy_executions: hours must be a non-negative number, got " ~ (hours | string)) }}
  {%- endif -%}
  {%- set with_errors = (include_errors | string | lower) in ['true', '1', 'yes'] -%}

  {%- do ensure_project_tables() -%}
  {%- set state = source('policy_execution', 'policy_execution_state') -%}
  {%- set delete_sql -%}
    delete from {{ state }}
    where (completed = TRUE{% if with_errors %} or status = 'error'{% endif %})
      and start_time < {{ utc_seconds_ago((hours_value * 3600) | int) }}
  {%- endset -%}
  {#- DuckDB returns one row (Count), Snowflake one row (number of rows deleted). -#}
  {%- set result = dbt.run_query(delete_sql) -%}
  {%- set deleted = (result.rows[0][0] if (result.rows | length) > 0 else 0) | int -%}
  {%- do log(
      "cleanup_policy_executions: deleted " ~ deleted ~ " row" ~ ('' if deleted == 1 else 's')
      ~ " from " ~ state ~ " (completed" ~ (" or error" if with_errors else "")
      ~ ", started more than " ~ hours ~ " hour" ~ ('' if hours_value == 1 else 's') ~ " ago)",
      info=True) -%}
  {{ return(deleted) }}
{% endmacro %}
