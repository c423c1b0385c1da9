{#-
  Small cross-database helpers. Each dispatches on the adapter type (= target.type) through
  adapter.dispatch, so `default__` is the DuckDB dialect and `snowflake__` the Snowflake one; a
  project can override any of them with `<adapter>__<name>`.
-#}

{#- A JSON object's top-level string field, as VARCHAR (NULL when absent or not an object). -#}
{% macro json_str(column, key) -%}
  {{ return(adapter.dispatch('json_str', 'policy_execution')(column, key)) }}
{%- endmacro %}

{% macro default__json_str(column, key) -%}
  json_extract_string({{ column }}, '$."{{ key }}"')
{%- endmacro %}

{% macro snowflake__json_str(column, key) -%}
  {{ column }}:"{{ key }}"::varchar
{%- endmacro %}


{#- Seconds (fractional, millisecond precision) from start_ts to end_ts. -#}
{% macro seconds_between(start_ts, end_ts) -%}
  {{ return(adapter.dispatch('seconds_between', 'policy_execution')(start_ts, end_ts)) }}
{%- endmacro %}

{% macro default__seconds_between(start_ts, end_ts) -%}
  cast(date_diff('millisecond', {{ start_ts }}, {{ end_ts }}) as double) / 1000
{%- endmacro %}

{% macro snowflake__seconds_between(start_ts, end_ts) -%}
  datediff(millisecond, {{ start_ts }}, {{ end_ts }}) / 1000
{%- endmacro %}


{#- Now as a naive UTC timestamp (the state table's convention: TIMESTAMP / TIMESTAMP_NTZ in UTC). -#}
{% macro utc_now() -%}
  {{ return(adapter.dispatch('utc_now', 'policy_execution')()) }}
{%- endmacro %}

{% macro default__utc_now() -%}
  (current_timestamp AT TIME ZONE 'UTC')
{%- endmacro %}

{% macro snowflake__utc_now() -%}
  convert_timezone('UTC', current_timestamp())::timestamp_ntz
{%- endmacro %}


{#- A naive UTC timestamp `seconds` seconds ago (an integer). -#}
{% macro utc_seconds_ago(seconds) -%}
  {{ return(adapter.dispatch('utc_seconds_ago', 'policy_execution')(seconds | int)) }}
{%- endmacro %}

{% macro default__utc_seconds_ago(seconds) -%}
  ({{ utc_now() }} - INTERVAL ({{ seconds }}) SECOND)
{%- endmacro %}

{% macro snowflake__utc_seconds_ago(seconds) -%}
  dateadd(second, -{{ seconds }}, {{ utc_now() }})
{%- endmacro %}


{#- A SQL string literal holding `value` (a Python string), safely quoted for the dialect. -#}
{% macro sql_str(value) -%}
  {{ return(adapter.dispatch('sql_str', 'policy_execution')(value)) }}
{%- endmacro %}

{#- DuckDB (standard SQL): backslash is not special, a quote is doubled. -#}
{% macro default__sql_str(value) -%}
  {{ return("'" ~ (value | string | replace("'", "''")) ~ "'") }}
{%- endmacro %}

{#- Snowflake: backslash is an escape character inside '...', so escape it too. -#}
{% macro snowflake__sql_str(value) -%}
  {{ return("'" ~ (value | string | replace("\\", "\\\\") | replace("'", "''")) ~ "'") }}
{%- endmacro %}


{#- A JSON value (mapping, list, scalar) as a SQL expression of the JSON / VARIANT type; none -> NULL. -#}
{% macro json_literal(value) -%}
  {{ return(adapter.dispatch('json_literal', 'policy_execution')(value)) }}
{%- endmacro %}

{% macro default__json_literal(value) -%}
  {%- if value is none -%}
    {{ return('CAST(NULL AS JSON)') }}
  {%- endif -%}
  {{ return('CAST(' ~ sql_str(tojson(value)) ~ ' AS JSON)') }}
{%- endmacro %}

{#- parse_json() is not allowed in a VALUES list on Snowflake: use it in INSERT ... SELECT. -#}
{% macro snowflake__json_literal(value) -%}
  {%- if value is none -%}
    {{ return('CAST(NULL AS VARIANT)') }}
  {%- endif -%}
  {{ return('parse_json(' ~ sql_str(tojson(value)) ~ ')') }}
{%- endmacro %}


{#- SQL expression yielding a fresh 'dbt-req-<uuid>' string. -#}
{% macro new_request_id_sql() -%}
  {{ return(adapter.dispatch('new_request_id_sql', 'policy_execution')()) }}
{%- endmacro %}

{% macro default__new_request_id_sql() -%}
  'dbt-req-' || cast(uuid() as varchar)
{%- endmacro %}

{% macro snowflake__new_request_id_sql() -%}
  'dbt-req-' || uuid_string()
{%- endmacro %}


{#- A query returning the lower-case column names of `relation` (an empty result if it does not exist). -#}
{% macro column_names_sql(relation) -%}
  {{ return(adapter.dispatch('column_names_sql', 'policy_execution')(relation)) }}
{%- endmacro %}

{% macro default__column_names_sql(relation) -%}
  select lower(column_name) from information_schema.columns
  where table_catalog = {{ sql_str(relation.database) }}
    and lower(table_schema) = lower({{ sql_str(relation.schema) }})
    and lower(table_name) = lower({{ sql_str(relation.identifier) }})
{%- endmacro %}

{% macro snowflake__column_names_sql(relation) -%}
  select lower(column_name) from {{ relation.database }}.information_schema.columns
  where table_schema = upper({{ sql_str(relation.schema) }})
    and table_name = upper({{ sql_str(relation.identifier) }})
{%- endmacro %}


{#- A query returning every row of `relation` as one JSON object text per row (column `policy_row`). -#}
{% macro policy_rows_sql(relation) -%}
  {{ return(adapter.dispatch('policy_rows_sql', 'policy_execution')(relation)) }}
{%- endmacro %}

{#- DuckDB: the row as a struct; JSON columns stay JSON, NULLs are null. -#}
{% macro default__policy_rows_sql(relation) -%}
  select to_json(policy_rows) as policy_row from {{ relation }} as policy_rows
{%- endmacro %}

{#- Snowflake: object_construct(*) leaves NULLs out; keys are the (upper-case) column names. -#}
{% macro snowflake__policy_rows_sql(relation) -%}
  select to_json(object_construct(*)) as policy_row from {{ relation }}
{%- endmacro %}
