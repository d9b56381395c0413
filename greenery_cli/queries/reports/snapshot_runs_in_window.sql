-- the snapshot runs taken in [$start, $end]: the first of them, with how many there are (no row: none)
with inside as (
    select
        snapshot_run_id,
        taken_at,
        row_number() over (order by taken_at asc, snapshot_run_id asc) as from_first,
        count(*) over () as runs
    from snapshots.snapshot_runs
    where taken_at >= $start and taken_at <= $end
)

select snapshot_run_id, taken_at, runs
from inside
where from_first = 1
