-- Snapshot runs, newest first.
select
    snapshot_run_id, taken_at, rows_opened, rows_closed, rows_deleted,
    source, check_columns, missing_policy
from snapshots.snapshot_runs
order by taken_at desc, snapshot_run_id desc
