-- duration_seconds is set exactly for finished executions and is never negative.
{{ config(enabled=var('policy_execution_model_enabled', true)) }}
select
    execution_id,
    status,
    duration_seconds
from {{ ref('policy_execution_model') }}
where
    (status in ('completed', 'error') and updated_at is not null and duration_seconds is null)
    or (status not in ('completed', 'error') and duration_seconds is not null)
    or duration_seconds < 0
