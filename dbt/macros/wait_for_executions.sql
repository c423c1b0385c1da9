{#-
  wait_for_executions(request_ids): follow the executions of queued requests in
  policy_execution_state until every one has ended (completed or error), printing started /
  completed / failed after every check; then a summary, and an error (a failing run-operation)
  when any failed or the time ran out. Between checks the warehouse waits (pause_between_checks).

  An execution is found by its workflow id, which is its request id (decision 7).
-#}
{% macro wait_for_executions(request_ids, timeout_seconds=3600, every_seconds=5) %}
  {%- set total = request_ids | length -%}
  {%- set started_at = modules.datetime.datetime.utcnow() -%}
  {%- set state = namespace(counts=none, done=false, stop=false, elapsed=0) -%}
  {%- for check in range(((timeout_seconds | int) // ([every_seconds | int, 1] | max)) + 2) if not state.stop -%}
    {%- set state.counts = execution_counts(request_ids) -%}
    {%- set state.elapsed = (modules.datetime.datetime.utcnow() - started_at).total_seconds() | int -%}
    {%- set c = state.counts -%}
    {%- do log("run_policy_workflow: " ~ c.started ~ "/" ~ total ~ " started, " ~ c.completed ~ " completed, "
        ~ c.failed ~ " failed (" ~ state.elapsed ~ " s)", info=True) -%}
    {%- set state.done = c.completed + c.failed >= total -%}
    {%- set state.stop = state.done or state.elapsed >= (timeout_seconds | int) -%}
    {%- if not state.stop -%}
      {%- do pause_between_checks(every_seconds) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- set c = state.counts -%}
  {%- do log("run_policy_workflow: summary: " ~ total ~ " executions: " ~ c.completed ~ " completed, " ~ c.failed
      ~ " failed, " ~ (total - c.completed - c.failed) ~ " not ended (" ~ state.elapsed ~ " s)", info=True) -%}
  {%- if c.failed > 0 -%}
    {%- do log("run_policy_workflow: failed executions:" ~ format_table(failed_executions(request_ids), 50, 120), info=True) -%}
  {%- endif -%}
  {%- if not state.done -%}
    {{ exceptions.raise_compiler_error("run_policy_workflow: " ~ (total - c.completed - c.failed) ~ " of " ~ total
        ~ " executions had not ended after " ~ timeout_seconds ~ " s (is a worker running?)") }}
  {%- elif c.failed > 0 -%}
    {{ exceptions.raise_compiler_error("run_policy_workflow: " ~ c.failed ~ " of " ~ total ~ " executions failed") }}
  {%- endif -%}
{% endmacro %}


{#- A predicate: the workflow id of `column` is one of `request_ids`. -#}
{% macro request_id_in(column, request_ids) %}
  {%- set quoted = [] -%}
  {%- for id in request_ids -%}
    {%- do quoted.append(sql_str(id)) -%}
  {%- endfor -%}
  {{ return(column ~ ' in (' ~ (quoted | join(', ') if quoted else 'null') ~ ')') }}
{% endmacro %}


{#- {started, completed, failed}: started = dispatched (its workflow started); ended = its state row. -#}
{% macro execution_counts(request_ids) %}
  {%- set sql -%}
    select
      count(case when r.status = 'dispatched' then 1 end) as started,
      count(case when s.status = 'completed' then 1 end) as completed,
      count(case when s.status = 'error' then 1 end) as failed
    from {{ source('policy_execution', 'policy_execution_requests') }} as r
    left join {{ source('policy_execution', 'policy_execution_state') }} as s on s.workflow_id = r.request_id
    where {{ request_id_in('r.request_id', request_ids) }}
  {%- endset -%}
  {%- set row = dbt.run_query(sql).rows[0] -%}
  {{ return({'started': row[0] | int, 'completed': row[1] | int, 'failed': row[2] | int}) }}
{% endmacro %}


{#- The failed executions with their error_message (an agate table). -#}
{% macro failed_executions(request_ids) %}
  {%- set sql -%}
    select s.workflow_id as request_id, s.policy_id, s.error_message
    from {{ source('policy_execution', 'policy_execution_state') }} as s
    where s.status = 'error' and {{ request_id_in('s.workflow_id', request_ids) }}
    order by s.workflow_id
  {%- endset -%}
  {{ return(dbt.run_query(sql)) }}
{% endmacro %}
