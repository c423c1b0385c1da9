{#-
  ensure_project_tables(): create the project's warehouse tables if they do not exist yet (and add
  the columns a table created by an earlier version lacks), so every dbt command works on a fresh
  warehouse. Runs from `on-run-start` (dbt_project.yml) and at the start of every operation in this
  project (run-operation does not run project hooks).

  The tables are defined once, as this package's sources (models/sources.yml): each column's type
  and, in its config.meta, primary_key / not_null / default. The Temporal worker creates the same
  tables from the same file. They are created in the sources' database and schema.

    policy_execution_state     written by the worker, one row per execution (the usage guide's
                               16 columns and the worker's own).
    policy_execution_requests  written by run_policy_workflow / policy_execution(...); the worker's
                               dispatcher starts one workflow per row (workflow id = request_id).
    policy_model_refresh_log   one row per dbt refresh run by the worker's dbtRefresh workflow.

  Returns '' so that it can be used as a hook.
-#}
{% macro ensure_project_tables() %}
  {%- if execute -%}
    {%- set state = source('policy_execution', 'policy_execution_state') -%}
    {%- do adapter.create_schema(api.Relation.create(database=state.database, schema=state.schema)) -%}
    {%- for name in ['policy_execution_state', 'policy_execution_requests', 'policy_model_refresh_log'] -%}
      {%- set relation = source('policy_execution', name) -%}
      {%- set definition = project_table_definition(name) -%}
      {%- do dbt.run_query(create_project_table_sql(relation, definition)) -%}
      {#- Not adapter.get_columns_in_relation: it opens a transaction that run-operation rolls back. -#}
      {%- set existing = dbt.run_query(column_names_sql(relation)).columns[0].values() | list -%}
      {%- for column in definition.columns.values() if (column.name | lower) not in existing -%}
        {%- do dbt.run_query('alter table ' ~ relation ~ ' add column ' ~ column.name ~ ' ' ~ project_column_type(column)) -%}
      {%- endfor -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return('') }}
{% endmacro %}


{#- The source node of one of this package's tables (its columns carry the definition). -#}
{% macro project_table_definition(name) %}
  {%- for node in graph.sources.values()
        if node.package_name == 'policy_execution' and node.source_name == 'policy_execution' and node.name == name -%}
    {{ return(node) }}
  {%- endfor -%}
  {{ exceptions.raise_compiler_error("ensure_project_tables: no source policy_execution." ~ name) }}
{% endmacro %}


{#- A column's type as this warehouse spells it (source meta `column_types`; Snowflake's own names otherwise). -#}
{% macro project_column_type(column) %}
  {%- set source_meta = project_table_definition('policy_execution_state').source_meta -%}
  {%- set spelled = source_meta.get('column_types', {}).get(target.type, {}) -%}
  {{ return(spelled.get(column.data_type | upper, column.data_type | upper)) }}
{% endmacro %}


{#- CREATE TABLE IF NOT EXISTS from a table's definition. -#}
{% macro create_project_table_sql(relation, definition) %}
  {%- set defaults = definition.source_meta.get('defaults', {}).get(target.type, {}) -%}
  {%- set columns = [] -%}
  {%- for column in definition.columns.values() -%}
    {%- set meta = column.meta or {} -%}
    {%- set parts = [column.name, project_column_type(column)] -%}
    {%- if meta.get('primary_key') -%}
      {%- do parts.append('PRIMARY KEY') -%}
    {%- elif meta.get('not_null') -%}
      {%- do parts.append('NOT NULL') -%}
    {%- endif -%}
    {%- if meta.get('default') is not none -%}
      {%- do parts.append('DEFAULT ' ~ defaults.get(meta.get('default') | string, meta.get('default') | string)) -%}
    {%- endif -%}
    {%- do columns.append('    ' ~ (parts | join(' '))) -%}
  {%- endfor -%}
  {{ return('CREATE TABLE IF NOT EXISTS ' ~ relation ~ ' (\n' ~ (columns | join(',\n')) ~ '\n)') }}
{% endmacro %}
