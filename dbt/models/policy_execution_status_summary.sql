{#- The guide's "Count executions by status", with the latest start per status. Off with the var
    policy_execution_status_summary_enabled: false (or with the model it reads). -#}
{{ config(
    enabled=(var('policy_execution_model_enabled', true) and var('policy_execution_status_summary_enabled', true)),
    materialized='table'
) }}

select
    status,
    count(*) as execution_count,
    max(start_time) as latest_start_time
from {{ ref('policy_execution_model') }}
group by status
