-- Each raw table's latest load: when, by which run, how many rows.
select
    table_name,
    max(run_id) as run_id,
    max_by(loaded_at, run_id) as loaded_at,
    max_by(rows, run_id) as rows
from meta.loads
group by table_name
