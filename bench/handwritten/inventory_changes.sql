-- Hand-written inventory changes, greenery's default: products whose inventory differs between
-- the latest snapshot run and the last earlier run whose inventory (presence and count of any
-- product) differs from it (the previous run when none does); tombstones are absence.
with runs as (
    select taken_at, row_number() over (order by taken_at desc, snapshot_run_id desc) as n
    from snapshots.snapshot_runs
),

states as (
    select r.n, s.product_id, s.name, s.inventory
    from runs as r
    join snapshots.products_snapshot as s
        on s.valid_from <= r.taken_at and (s.valid_to is null or s.valid_to > r.taken_at)
    where not s.is_deleted
),

differing as (
    -- per earlier run, the products whose presence or inventory differs from the latest run's
    select coalesce(b.n, r.n) as n, count(*) as products
    from runs as r
    cross join (select product_id, inventory from states where n = 1) as a
    full outer join states as b on b.n = r.n and b.product_id = a.product_id
    where r.n > 1 and (a.product_id is null or b.product_id is null
        or a.inventory is distinct from b.inventory)
    group by all
),

chosen as (
    select coalesce(min(n), 2) as n from differing
),

state_before as (
    select product_id, name, inventory from states where n = (select n from chosen)
),

state_after as (
    select product_id, name, inventory from states where n = 1
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
