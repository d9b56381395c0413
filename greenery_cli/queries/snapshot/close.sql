-- Close the current version of every product that changed, returned or went: it ends at the run's moment.
update snapshots.products_snapshot
set valid_to = $taken_at, closed_by_run = $run_id
where snapshot_row_id in (
    select current_row_id from snapshot_changes where current_row_id is not null
)
