-- snapshot runs, newest (or oldest) first: all of them, one by id, those taken at or before a moment, or in a window
select snapshot_run_id, taken_at
from snapshots.snapshot_runs
{%- if by == "id" %}
where snapshot_run_id = $run_id
{%- elif by == "at_or_before" %}
where taken_at <= $moment
{%- elif by == "window" %}
where taken_at >= $start and taken_at <= $end
{%- endif %}
{%- set direction = "asc" if oldest_first else "desc" %}
order by taken_at {{ direction }}, snapshot_run_id {{ direction }}
{%- if by != "window" %}
limit $limit
{%- endif %}
