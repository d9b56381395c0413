-- per product over [$start, $end]: its inventory states, how often and how far they moved, ranked
with versions as (
    -- the versions alive at some moment of the window; tombstones are absence, not a state
    select product_id, name, inventory, valid_from, snapshot_row_id
    from snapshots.products_snapshot
    where not is_deleted and valid_from <= $end and (valid_to is null or valid_to > $start)
),

ordered as (
    select
        *,
        lag(inventory) over by_time as previous_inventory,
        row_number() over by_time as version_no
    from versions
    window by_time as (partition by product_id order by valid_from, snapshot_row_id)
),

states as (
    -- a version that repeats the inventory before it (a price change, a return) is no new state
    select * from ordered
    where version_no = 1 or inventory is distinct from previous_inventory
),

per_product as (
    select
        product_id,
        arg_max(name, valid_from) as name,
        (count(*) - 1)::bigint as changes,
        coalesce(sum(abs(inventory - previous_inventory)) filter (where version_no > 1), 0)::bigint
            as total_change,
        min(inventory) as min_inventory,
        max(inventory) as max_inventory,
        max(inventory) - min(inventory) as "range",
        stddev_pop(inventory) as stddev,
        arg_min(inventory, valid_from) as first_inventory,
        arg_max(inventory, valid_from) as last_inventory,
        list(inventory order by valid_from) as path
    from states
    group by product_id
),

ranked as (
    select
        rank() over (
            order by
            {%- for column in rank_columns %}
                {{ column }} desc nulls last{{ "," if not loop.last }}
            {%- endfor %}
        ) as rank,
        *
    from per_product
)

select
    rank, product_id, name, changes, total_change, min_inventory, max_inventory, "range",
    stddev, first_inventory, last_inventory, path
from ranked
order by rank, name, product_id
