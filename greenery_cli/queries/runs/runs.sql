-- The run log, newest first, with dbt's run-results names where the concept is the same.
select
    run_id,
    command,
    args,
    status,
    started_at,
    finished_at as completed_at,
    duration_s as elapsed_time,
    rows_affected,
    message,
    greenery_version
from meta.runs
where $command is null or command = $command
order by run_id desc
{% if limit %}limit $limit{% endif %}
