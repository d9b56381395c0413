-- Hand-written fluctuations over all history: per product its inventory states (consecutive
-- repeats merged, tombstones left out), number of changes, total absolute change, min, max,
-- stddev, first, last and path, ranked by changes then total change; products whose inventory
-- never changed are left out (greenery's default).
with versions as (
    select
        product_id, name, inventory, valid_from,
        lag(inventory) over (partition by product_id order by valid_from, snapshot_row_id)
            as previous_inventory,
        row_number() over (partition by product_id order by valid_from, snapshot_row_id)
            as version_no
    from snapshots.products_snapshot
    where not is_deleted
),

states as (
    select * from versions
    where version_no = 1 or inventory is distinct from previous_inventory
),

per_product as (
    select
        product_id,
        arg_max(name, valid_from) as name,
        count(*) - 1 as changes,
        coalesce(sum(abs(inventory - previous_inventory)) filter (where version_no > 1), 0)
            as total_change,
        min(inventory) as min_inventory,
        max(inventory) as max_inventory,
        stddev_pop(inventory) as stddev,
        arg_min(inventory, valid_from) as first_inventory,
        arg_max(inventory, valid_from) as last_inventory,
        list(inventory order by valid_from) as path
    from states
    group by product_id
)

select *
from (select rank() over (order by changes desc, total_change desc) as rank, * from per_product)
where changes > 0
order by rank, name, product_id
