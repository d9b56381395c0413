-- When each node of the matrix last ran: model builds, source loads and (once the snapshot
-- engine has made its table) snapshot runs: when the run happened (its meta.runs row), not the
-- moment it was taken as of, which `snapshot --at` may set in the past when replaying exports.
select 'model' as node_type, model as node, max(finished_at) as last_run_at
from meta.model_builds
group by model
union all
select 'source', table_name, max(loaded_at)
from meta.loads
group by table_name
{% if snapshot_runs %}
union all
select 'snapshot', 'products_snapshot', max(coalesce(runs.finished_at, snapshot_runs.taken_at))
from snapshots.snapshot_runs
left join meta.runs on runs.run_id = snapshot_runs.snapshot_run_id
having count(*) > 0
{% endif %}
