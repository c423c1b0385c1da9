{#-
  run_query: the usage guide's "Check State Table" operation, in this project (not in the package).

    dbt run-operation run_query --args '{"sql": "SELECT * FROM policy_execution_state ORDER BY start_time DESC LIMIT 1"}'

  prints the result like the package's policy_execution_query (macros/policy_execution_query.sql).

  A root-project macro named run_query overrides dbt's built-in run_query everywhere in the
  project, including inside dbt's own macros. So this one behaves exactly like the built-in (runs
  the statement outside a transaction and returns the agate table) and only prints when it is the
  macro invoked by `dbt run-operation run_query`. The package's macros call dbt.run_query.

  This folder is a macro path only while this directory is the root project (dbt_project.yml,
  macro-paths): installed as a package into another project, it would shadow dbt's built-in there.
-#}
{% macro run_query(sql, max_rows=50, max_width=60) %}
  {%- set table = dbt.run_query(sql) -%}
  {%- if execute and flags.WHICH == 'run-operation' and invocation_args_dict.get('macro') == 'run_query' -%}
    {%- do log(format_table(table, max_rows | int, max_width | int), info=True) -%}
  {%- endif -%}
  {{ return(table) }}
{% endmacro %}
