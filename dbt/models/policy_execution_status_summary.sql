{#- The guide's "Count executions by status", with the latest start per status. -#}
{{ config(materialized='table') }}

select
    status,
    count(*) as execution_count,
    max(start_time) as latest_start_time
from {{ ref('policy_execution_model') }}
group by status
