{#-
  The usage guide's `dbt run-operation run_query --args '{sql: ...}'`, kept in this project.

  The package's monitoring operation is policy_execution_query (a package macro named run_query
  would replace dbt's built-in in this project). This root-project macro does replace it, on
  purpose, so it behaves exactly like the built-in and prints only when run as the operation.
-#}
{% macro run_query(sql, max_rows=50, max_width=60) %}
  {%- if execute and flags.WHICH == 'run-operation' and invocation_args_dict.get('macro') == 'run_query' -%}
    {{ return(policy_execution.policy_execution_query(sql, max_rows, max_width)) }}
  {%- endif -%}
  {{ return(dbt.run_query(sql)) }}
{% endmacro %}
