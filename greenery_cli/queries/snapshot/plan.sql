-- A dry run's rows: each version the run would close, then each it would open (tombstones flagged is_deleted).
-- Context: history (the history the run starts from). Reads snapshot_changes and snapshot_opened.
select
    'close' as action,
    c.change,
    p.snapshot_row_id,
    p.product_id,
    p.name,
    p.price,
    p.inventory,
    p.is_deleted
from snapshot_changes as c
join {{ history }} as p on p.snapshot_row_id = c.current_row_id
union all
select 'open', change, snapshot_row_id, product_id, name, price, inventory, is_deleted
from snapshot_opened
order by product_id, action, snapshot_row_id
