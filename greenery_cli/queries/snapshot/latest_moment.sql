-- The latest moment the history knows: the newest run, or any version boundary (a new run must come after it).
select
    r.snapshot_run_id,
    r.taken_at,
    greatest(
        r.taken_at,
        (select max(valid_from) from snapshots.products_snapshot),
        (select max(valid_to) from snapshots.products_snapshot)
    ) as latest
from (select 1) as one
left join (
    select snapshot_run_id, taken_at from snapshots.snapshot_runs
    order by taken_at desc, snapshot_run_id desc limit 1
) as r on true
