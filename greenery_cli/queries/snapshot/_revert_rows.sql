-- A fragment (the leading _), included by revert_plan.sql and revert_preview.sql: what undoing
-- the run does to each version it touched (delete those it opened, re-open those it closed).
select
    case when opened_by_run = $run_id then 'delete' else 'reopen' end as action,
    snapshot_row_id, product_id, name, price, inventory, is_deleted, closed_by_run
from snapshots.products_snapshot
where opened_by_run = $run_id or closed_by_run = $run_id
