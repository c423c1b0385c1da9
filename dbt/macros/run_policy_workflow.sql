{#-
  Trigger policy executions from dbt (usage guide: "Execute the Workflow", "Custom Policy Data").

  dbt does not call the policy API itself: it inserts a row into policy_execution_requests and the
  worker's dispatcher starts one Temporal workflow per request, exactly once, with the request id
  as the workflow id (docs/design.md, decision 7). The execution's row then appears in policy_execution_state
  and, after the next refresh, in policy_execution_model.

    dbt run-operation run_policy_workflow                         # the guide's sample policy
    dbt run-operation run_policy_workflow --args '{policy: {policy_name: p1, policy_type: security, ...}, options: {maxPolls: 5}}'
    dbt run-operation run_policy_workflow --args '{from_model: my_policies}'          # one per row
    dbt run-operation run_policy_workflow --args '{from_source: {source: raw, table: policies}, wait: true}'

    {% do policy_execution({"policy_name": "custom_policy", ...}) %}   # from another macro / hook
    {% set request_id = policy_execution({...}, options={...}) %}
-#}


{#- The usage guide's Sample Request (Create Policy), verbatim. -#}
{% macro sample_policy() %}
  {{ return({
      "policy_name": "sample_policy",
      "policy_type": "data_governance",
      "description": "Sample policy for data governance with circuit breaker",
      "priority": "high",
      "created_by": "dbt_user",
      "expected_policy_id": "d74d726c-9ca0-4c96-b9e3-755396547dce",
      "parameters": {
          "retention_days": 90,
          "classification": "sensitive",
          "compliance_level": "strict",
          "circuit_breaker_enabled": true
      }
  }) }}
{% endmacro %}


{#-
  run-operation entry point. Queues one execution: the sample policy, or `policy`; or, with
  `from_model` / `from_source`, one per row of that model or source (queue_policy_rows.sql: stable
  request ids, so running it again queues nothing new; `id_prefix` starts a new series). `options`
  apply to every execution. With `wait: true` it then follows them until every one has ended and
  fails when any failed (wait_for_executions.sql; at most `wait_timeout_seconds`, checking every
  `check_every_seconds`).
-#}
{% macro run_policy_workflow(policy=none, options=none, from_model=none, from_source=none, wait=false,
                             id_prefix='dbt-req', wait_timeout_seconds=3600, check_every_seconds=5) %}
  {%- if execute -%}
    {%- if options is string -%}
      {%- set options = fromjson(options) -%}
    {%- endif -%}
    {%- if from_model is not none or from_source is not none -%}
      {%- set request_ids = queue_policy_rows(policy_rows_relation(from_model, from_source), options, id_prefix) -%}
    {%- else -%}
      {%- set request_ids = [policy_execution(policy if policy is not none else sample_policy(), options)] -%}
    {%- endif -%}
    {%- if wait -%}
      {%- do wait_for_executions(request_ids, wait_timeout_seconds, check_every_seconds) -%}
    {%- endif -%}
  {%- endif -%}
{% endmacro %}


{#-
  The guide's macro form. Inserts one request row and returns its request id. The policy is stored
  as given (a mapping, or a JSON object as a string); the workflow validates it, and an invalid
  policy ends as an `error` row in policy_execution_state. The insert runs outside a transaction
  (autocommit), so it is durable when the macro returns.
-#}
{% macro policy_execution(policy, options=none) %}
  {%- if not execute -%}
    {{ return('') }}
  {%- endif -%}
  {%- if policy is string -%}
    {%- set policy = fromjson(policy) -%}
  {%- endif -%}
  {%- if policy is not mapping -%}
    {{ exceptions.raise_compiler_error("policy_execution: policy must be a mapping (a JSON object), got " ~ (policy | string)) }}
  {%- endif -%}
  {%- if options is string -%}
    {%- set options = fromjson(options) -%}
  {%- endif -%}
  {%- if options is not none and options is not mapping -%}
    {{ exceptions.raise_compiler_error("policy_execution: options must be a mapping (a JSON object), got " ~ (options | string)) }}
  {%- endif -%}

  {%- do ensure_project_tables() -%}
  {%- set requests = source('policy_execution', 'policy_execution_requests') -%}
  {%- set request_id = dbt.run_query('select ' ~ new_request_id_sql() ~ ' as request_id').columns[0].values()[0] -%}
  {%- set requested_by = target.get('user') or 'dbt' -%}

  {%- set insert_sql -%}
    insert into {{ requests }} (request_id, policy, options, requested_at, requested_by, status)
    select
      {{ sql_str(request_id) }},
      {{ json_literal(policy) }},
      {{ json_literal(options) }},
      {{ utc_now() }},
      {{ sql_str(requested_by) }},
      'requested'
  {%- endset -%}
  {%- do dbt.run_query(insert_sql) -%}

  {%- set ui = env_var('TEMPORAL_UI_URL', 'http://localhost:8233').rstrip('/') -%}
  {%- set namespace = env_var('TEMPORAL_NAMESPACE', 'default') -%}
  {%- do log(
      "request " ~ request_id ~ " queued (policy " ~ (policy.get('policy_name') or '?') ~ "); "
      ~ "the worker's dispatcher starts workflow " ~ request_id ~ " within a few seconds; follow it: "
      ~ "policy-execution status " ~ request_id
      ~ ", or " ~ ui ~ "/namespaces/" ~ namespace ~ "/workflows/" ~ request_id
      ~ ", or dbt run --select policy_execution_model",
      info=True) -%}
  {{ return(request_id) }}
{% endmacro %}
