-- When each node of the matrix last ran: model builds, source loads and (once the snapshot
-- engine has made its table) snapshot runs.
select 'model' as node_type, model as node, max(finished_at) as last_run_at
from meta.model_builds
group by model
union all
select 'source', table_name, max(loaded_at)
from meta.loads
group by table_name
{% if snapshot_runs %}
union all
select 'snapshot', 'products_snapshot', max(taken_at)
from snapshots.snapshot_runs
having max(taken_at) is not null
{% endif %}
