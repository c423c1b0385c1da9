{#-
  Post-hook of policy_execution_model: delete the executions that are no longer in the state table
  (removed by cleanup_policy_executions or by hand), so the model mirrors it.
-#}
{% macro prune_deleted_executions() %}
  delete from {{ this }}
  where execution_id not in (
      select execution_id
      from {{ source('policy_execution', 'policy_execution_state') }}
      where execution_id is not null
  )
{% endmacro %}
