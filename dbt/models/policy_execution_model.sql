{#-
  Execution results: one row per execution, the usage guide's monitoring columns plus what is
  useful at a glance (policy name/type/priority/owner out of policy_data, the circuit breaker id,
  duration of finished executions).

  Incremental: a run re-reads only the rows of the state table whose updated_at is within
  `policy_model_lookback_minutes` (default 60) of the newest updated_at already in the model, and
  of those only the ones that are new or have changed (another run, a higher state_version or a
  later updated_at), then replaces them by execution_id. The lookback is there because updated_at is the workflow's
  event time, not the commit time: with concurrent executions, a row can be written slightly after
  a row with a later updated_at, and a plain `updated_at > max(updated_at)` would skip it for good.
  Rows only move forward, so re-reading a few is harmless. Executions deleted from the state table
  (cleanup_policy_executions) are deleted from the model by the post-hook.
  `dbt run --full-refresh --select policy_execution_model` rebuilds it from scratch.
  Off with the var policy_execution_model_enabled: false (the status summary and the test go with it).
-#}
{{
  config(
    enabled=var('policy_execution_model_enabled', true),
    materialized='incremental',
    unique_key='execution_id',
    incremental_strategy=('merge' if target.type == 'snowflake' else 'delete+insert'),
    on_schema_change='append_new_columns',
    post_hook=["{{ prune_deleted_executions() }}"]
  )
}}

{#- A model built before run_id existed gets the column on this run (append_new_columns); until then the
    filter cannot compare it. -#}
{%- set model_has_run_id = is_incremental()
      and 'run_id' in (adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list) -%}

with state as (

    {#- the alias is used by the incremental filter below -#}
    select * from {{ source('policy_execution', 'policy_execution_state') }} as s  -- noqa: AL05
    {% if is_incremental() %}
    where (
        s.updated_at is null
        or s.updated_at >= (
            select coalesce(
                {{ dbt.dateadd('minute', -1 * (var('policy_model_lookback_minutes', 60) | int), 'max(m.updated_at)') }},
                cast('1900-01-01' as timestamp)
            )
            from {{ this }} as m
        )
    )
    and not exists (
        select 1
        from {{ this }} as m
        where m.execution_id = s.execution_id
          {% if model_has_run_id %}and m.run_id is not distinct from s.run_id{% endif %}
          and m.state_version >= s.state_version
          and m.updated_at is not distinct from s.updated_at
    )
    {% endif %}

),

final as (

    select
        execution_id,
        policy_id,
        status,
        poll_count,
        circuit_breaker_completed,
        start_time,
        message,
        error_message,

        completed,
        requires_circuit_breaker,
        circuit_breaker_initiated,
        last_poll_time,

        {{ json_str('policy_data', 'policy_name') }} as policy_name,
        {{ json_str('policy_data', 'policy_type') }} as policy_type,
        {{ json_str('policy_data', 'priority') }} as priority,
        {{ json_str('policy_data', 'created_by') }} as created_by,
        {{ json_str('circuit_breaker_response', 'circuit_breaker_id') }} as circuit_breaker_id,

        case
            when status in ('completed', 'error')
                then {{ seconds_between('start_time', 'updated_at') }}
        end as duration_seconds,
        error_message as last_error,

        updated_at,
        state_version,
        workflow_id,
        run_id

    from state

)

select * from final
