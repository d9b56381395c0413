-- Undoing a run: delete the versions it opened, re-open the versions it closed.
create or replace temp table snapshot_reverted as
select
    case when opened_by_run = $run_id then 'delete' else 'reopen' end as action,
    snapshot_row_id, product_id, name, price, inventory, is_deleted, closed_by_run
from snapshots.products_snapshot
where opened_by_run = $run_id or closed_by_run = $run_id
