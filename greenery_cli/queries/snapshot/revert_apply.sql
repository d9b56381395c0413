-- Apply the undo planned in snapshot_reverted, and forget the run.
delete from snapshots.products_snapshot
where snapshot_row_id in (select snapshot_row_id from snapshot_reverted where action = 'delete');
update snapshots.products_snapshot
set valid_to = null, closed_by_run = null
where snapshot_row_id in (select snapshot_row_id from snapshot_reverted where action = 'reopen');
delete from snapshots.snapshot_runs where snapshot_run_id = $run_id
