-- One row per snapshot run, with or without changes (freshness and the inventory questions read them).
insert into snapshots.snapshot_runs
values ($run_id, $taken_at, $opened, $closed, $deleted, $source, $check_columns, $missing)
