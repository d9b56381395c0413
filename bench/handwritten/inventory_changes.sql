-- Hand-written inventory changes: products whose inventory differs between the state as of the
-- previous snapshot run and as of the latest (tombstones are absence).
with runs as (
    select taken_at, row_number() over (order by taken_at desc) as n
    from snapshots.snapshot_runs
),

state_before as (
    select s.product_id, s.name, s.inventory
    from snapshots.products_snapshot as s, runs as r
    where r.n = 2 and s.valid_from <= r.taken_at
        and (s.valid_to is null or s.valid_to > r.taken_at) and not s.is_deleted
),

state_after as (
    select s.product_id, s.name, s.inventory
    from snapshots.products_snapshot as s, runs as r
    where r.n = 1 and s.valid_from <= r.taken_at
        and (s.valid_to is null or s.valid_to > r.taken_at) and not s.is_deleted
)

select
    coalesce(a.product_id, b.product_id) as product_id,
    coalesce(a.name, b.name) as name,
    b.inventory as inventory_before,
    a.inventory as inventory_after,
    a.inventory - b.inventory as change
from state_before as b
full outer join state_after as a on a.product_id = b.product_id
where a.product_id is null or b.product_id is null or a.inventory is distinct from b.inventory
order by abs(a.inventory - b.inventory) desc nulls last, name, product_id
