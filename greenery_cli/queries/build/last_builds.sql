-- Each model's last successful build (a skipped model was not built): its run, fingerprint,
-- materialisation, when it finished, its rows and how long it took.
select
    model,
    max(run_id) as run_id,
    arg_max(fingerprint, run_id) as fingerprint,
    arg_max(materialized, run_id) as materialized,
    arg_max(finished_at, run_id) as finished_at,
    arg_max(rows, run_id) as rows,
    arg_max(duration_s, run_id) as duration_s
from meta.model_builds
where coalesce(action, 'built') <> 'skipped'
group by model
