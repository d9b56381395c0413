-- Each model's latest build: when it finished, by which run, how long it took.
select
    model,
    max(run_id) as run_id,
    max_by(finished_at, run_id) as built_at,
    max_by(duration_s, run_id) as duration_s,
    max_by(rows, run_id) as rows
from meta.model_builds
group by model
