-- What each listed run did node by node, in dbt's run_results words: models built, tests run, freshness checked.
{% if model_builds %}
select
    run_id,
    'model.' || model as unique_id,
    case when action = 'skipped' then 'skipped' else 'success' end as status,
    duration_s as execution_time,
    started_at,
    finished_at as completed_at,
    rows as rows_affected,
    null::bigint as failures,
    reason as message
from meta.model_builds
where run_id in (select unnest($run_ids))
{% endif %}
{% if test_results %}
{% if model_builds %}union all{% endif %}
select
    run_id,
    'test.' || test_name as unique_id,  -- named: this may be the first branch
    status,
    duration_s as execution_time,
    started_at,
    started_at + to_seconds(duration_s) as completed_at,  -- to the microsecond, as on Spark
    null::bigint as rows_affected,
    failures,
    message
from meta.test_results
where run_id in (select unnest($run_ids))
{% endif %}
{% if freshness_checks %}
{% if model_builds or test_results %}union all{% endif %}
select
    run_id,
    kind || '.' || split_part(name, '.', 2) as unique_id,
    status,
    null::double as execution_time,
    checked_at as started_at,
    checked_at as completed_at,
    null::bigint as rows_affected,
    null::bigint as failures,
    note as message
from meta.freshness_checks
where run_id in (select unnest($run_ids))
{% endif %}
order by run_id, started_at, unique_id
