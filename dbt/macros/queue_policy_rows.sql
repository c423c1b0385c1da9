{#-
  Queue one execution request per row of a model or a source (run_policy_workflow's from_model /
  from_source). The columns map to the policy's fields: policy_name, policy_type, description,
  priority, created_by, expected_policy_id, parameters (JSON / VARIANT, or JSON text); an optional
  `options` column (JSON or JSON text) holds the row's own options, which win over the `options`
  given to the operation. Other columns are ignored; NULL means "not given".

  Request ids are stable: `<id_prefix>-<digest>-<n>`, the digest an md5 of the relation's name and
  the canonical JSON of the row's policy and options, `n` counting identical rows. Running the
  operation again queues nothing new, and the dispatcher starts one workflow per request id, exactly
  once (docs/design.md, decision 7). Every row is checked before anything is queued.
-#}

{#- The policy fields a row may carry, and those it must. -#}
{% macro policy_row_fields() %}
  {{ return(['policy_name', 'policy_type', 'description', 'priority', 'created_by', 'expected_policy_id', 'parameters']) }}
{% endmacro %}

{% macro required_policy_row_fields() %}
  {{ return(['policy_name', 'policy_type', 'priority', 'created_by']) }}
{% endmacro %}


{#- The relation to read and the name its request ids are derived from. -#}
{% macro policy_rows_relation(from_model=none, from_source=none) %}
  {%- if from_model is not none and from_source is not none -%}
    {{ exceptions.raise_compiler_error("run_policy_workflow: give from_model or from_source, not both") }}
  {%- elif from_model is not none -%}
    {{ return({'relation': ref(from_model), 'name': 'model ' ~ from_model}) }}
  {%- elif from_source is mapping and from_source.get('source') and from_source.get('table') -%}
    {{ return({'relation': source(from_source['source'], from_source['table']),
               'name': 'source ' ~ from_source['source'] ~ '.' ~ from_source['table']}) }}
  {%- else -%}
    {{ exceptions.raise_compiler_error("run_policy_workflow: from_source is {source: NAME, table: NAME}, got " ~ from_source) }}
  {%- endif -%}
{% endmacro %}


{#- Queue the relation's rows; returns every row's request id (queued now or before). -#}
{% macro queue_policy_rows(rows_from, options=none, id_prefix='dbt-req', batch_size=200) %}
  {%- if options is not none and options is not mapping -%}
    {{ exceptions.raise_compiler_error("run_policy_workflow: options must be a mapping (a JSON object), got " ~ options) }}
  {%- endif -%}
  {%- do ensure_project_tables() -%}
  {%- do check_policy_columns(rows_from) -%}
  {%- set requests = policy_requests_from_rows(rows_from, options, id_prefix) -%}
  {%- set ids = requests | map(attribute='request_id') | list -%}
  {%- set before = queued_request_ids(ids) -%}
  {%- set fresh = requests | rejectattr('request_id', 'in', before) | list -%}
  {%- do log("run_policy_workflow: " ~ rows_from.name ~ ": " ~ (ids | length) ~ " rows, " ~ (before | length)
      ~ " already queued, queueing " ~ (fresh | length), info=True) -%}
  {%- for chunk in fresh | batch(batch_size | int) -%}
    {%- do insert_policy_requests(chunk) -%}
    {%- do log("run_policy_workflow: queued " ~ [loop.index * (batch_size | int), fresh | length] | min
        ~ "/" ~ (fresh | length), info=True) -%}
  {%- endfor -%}
  {{ return(ids) }}
{% endmacro %}


{#- Fail before queueing anything when the relation lacks a required column. -#}
{% macro check_policy_columns(rows_from) %}
  {%- set columns = dbt.run_query(column_names_sql(rows_from.relation)).columns[0].values() | list -%}
  {%- set missing = required_policy_row_fields() | reject('in', columns) | list -%}
  {%- if missing -%}
    {{ exceptions.raise_compiler_error("run_policy_workflow: " ~ rows_from.name ~ " lacks column(s) "
        ~ (missing | join(', ')) ~ " (columns map to the policy fields: " ~ (policy_row_fields() | join(', ')) ~ ")") }}
  {%- endif -%}
{% endmacro %}


{#- Every row as {request_id, policy, options}; raises listing every row that cannot be read. -#}
{% macro policy_requests_from_rows(rows_from, options, id_prefix) %}
  {%- if not modules.re.match('^[A-Za-z0-9][A-Za-z0-9._:@-]{0,90}$', id_prefix) -%}
    {{ exceptions.raise_compiler_error("run_policy_workflow: id_prefix must be 1-91 of A-Z a-z 0-9 . _ : @ - (not starting with a symbol), got " ~ id_prefix) }}
  {%- endif -%}
  {%- set requests, problems, seen = [], [], {} -%}
  {%- for text in dbt.run_query(policy_rows_sql(rows_from.relation)).columns[0].values() -%}
    {%- set row = {} -%}
    {%- for key, value in fromjson(text).items() -%}
      {%- do row.update({key | lower: value}) -%}
    {%- endfor -%}
    {%- set parsed = policy_from_row(row, options) -%}
    {%- if parsed.problem -%}
      {%- do problems.append("row " ~ loop.index ~ " (policy_name " ~ row.get('policy_name') ~ "): " ~ parsed.problem) -%}
    {%- else -%}
      {%- set digest = local_md5(rows_from.name ~ '\n' ~ tojson({'policy': parsed.policy, 'options': parsed.options or {}}, sort_keys=true))[:16] -%}
      {%- do seen.update({digest: seen.get(digest, 0) + 1}) -%}
      {%- do requests.append({'request_id': id_prefix ~ '-' ~ digest ~ '-' ~ seen[digest],
                              'policy': parsed.policy, 'options': parsed.options}) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if problems -%}
    {{ exceptions.raise_compiler_error("run_policy_workflow: " ~ rows_from.name ~ ": " ~ (problems | length)
        ~ " row(s) cannot be read; nothing was queued:\n  " ~ (problems | join('\n  '))) }}
  {%- endif -%}
  {{ return(requests) }}
{% endmacro %}


{#- One row (lower-case keys) as {policy, options, problem}: the policy fields that are not NULL,
    JSON text parsed; the row's options over the operation's. -#}
{% macro policy_from_row(row, options=none) %}
  {%- set policy = {} -%}
  {%- for field in policy_row_fields() if row.get(field) is not none -%}
    {%- do policy.update({field: row[field]}) -%}
  {%- endfor -%}
  {%- set parsed = {'parameters': policy.get('parameters'), 'options': row.get('options')} -%}
  {%- for name, value in parsed.items() if value is string -%}
    {%- do parsed.update({name: fromjson(value) if value | trim != '' else none}) -%}
    {%- if value | trim != '' and parsed[name] is not mapping -%}
      {{ return({'problem': name ~ " is not a JSON object: " ~ value[:80]}) }}
    {%- endif -%}
  {%- endfor -%}
  {%- if parsed.parameters is none -%}
    {%- do policy.pop('parameters', none) -%}
  {%- else -%}
    {%- do policy.update({'parameters': parsed.parameters}) -%}
  {%- endif -%}
  {%- set merged = dict(options or {}) -%}
  {%- do merged.update(parsed.options or {}) -%}
  {{ return({'policy': policy, 'options': merged or none, 'problem': none}) }}
{% endmacro %}


{#- Which of `ids` policy_execution_requests already holds. -#}
{% macro queued_request_ids(ids) %}
  {%- set found = [] -%}
  {%- set requests = source('policy_execution', 'policy_execution_requests') -%}
  {%- for chunk in ids | batch(500) -%}
    {%- set quoted = [] -%}
    {%- for id in chunk -%}
      {%- do quoted.append(sql_str(id)) -%}
    {%- endfor -%}
    {%- do found.extend(dbt.run_query('select request_id from ' ~ requests ~ ' where request_id in ('
        ~ (quoted | join(', ')) ~ ')').columns[0].values()) -%}
  {%- endfor -%}
  {{ return(found) }}
{% endmacro %}


{#- Insert requests in one statement; a request id queued meanwhile (another run) is skipped. -#}
{% macro insert_policy_requests(chunk) %}
  {%- set requests = source('policy_execution', 'policy_execution_requests') -%}
  {%- set requested_by = sql_str(target.get('user') or 'dbt') -%}
  {%- set selects = [] -%}
  {%- for r in chunk -%}
    {%- do selects.append('select ' ~ sql_str(r.request_id) ~ ' as request_id, ' ~ json_literal(r.policy)
        ~ ' as policy, ' ~ json_literal(r.options) ~ ' as options, ' ~ utc_now() ~ ' as requested_at, '
        ~ requested_by ~ " as requested_by, 'requested' as status") -%}
  {%- endfor -%}
  {%- do dbt.run_query('insert into ' ~ requests
      ~ ' (request_id, policy, options, requested_at, requested_by, status) select * from ('
      ~ (selects | join('\n union all ')) ~ ') as queued where request_id not in (select request_id from '
      ~ requests ~ ')') -%}
{% endmacro %}
