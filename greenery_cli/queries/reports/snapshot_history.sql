-- the history's ends in one query: its latest run, the one before it and its first, each with
-- how many runs there are (no row: no runs). products_snapshot is named too (reading nothing), so
-- that either table missing fails here, before a question reads it.
with ranked as (
    select
        snapshot_run_id,
        taken_at,
        row_number() over (order by taken_at desc, snapshot_run_id desc) as from_latest,
        row_number() over (order by taken_at asc, snapshot_run_id asc) as from_first,
        count(*) over () as runs
    from snapshots.snapshot_runs
)

select from_latest, from_first, snapshot_run_id, taken_at, runs
from ranked
where
    (from_latest <= 2 or from_first = 1)
    and not exists (select 1 from snapshots.products_snapshot where false)
order by from_latest
