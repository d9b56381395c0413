-- every product present as of $before or $after, with its inventory at both points (tombstones = absent)
with state_before as (
    select product_id, name, inventory
    from snapshots.products_snapshot
    where valid_from <= $before and (valid_to is null or valid_to > $before) and not is_deleted
),

state_after as (
    select product_id, name, inventory
    from snapshots.products_snapshot
    where valid_from <= $after and (valid_to is null or valid_to > $after) and not is_deleted
)

select
    coalesce(a.product_id, b.product_id) as product_id,
    coalesce(a.name, b.name) as name,
    case
        when b.product_id is null then 'new'
        when a.product_id is null then 'removed'
        when a.inventory is distinct from b.inventory then 'changed'
        else 'unchanged'
    end as status,
    b.inventory as inventory_before,
    a.inventory as inventory_after,
    a.inventory - b.inventory as change
from state_before as b
full outer join state_after as a on a.product_id = b.product_id
order by
    abs(a.inventory - b.inventory) desc nulls last,
    status,
    name,
    product_id
