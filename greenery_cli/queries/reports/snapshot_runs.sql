-- snapshot runs, newest (or oldest) first: all of them, one by id, or those taken at or before a moment
select snapshot_run_id, taken_at
from snapshots.snapshot_runs
{%- if by == "id" %}
where snapshot_run_id = $run_id
{%- elif by == "at_or_before" %}
where taken_at <= $moment
{%- endif %}
{%- set direction = "asc" if oldest_first else "desc" %}
order by taken_at {{ direction }}, snapshot_run_id {{ direction }}
limit $limit
