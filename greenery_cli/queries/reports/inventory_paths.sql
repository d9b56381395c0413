-- The inventory of every product whose inventory changed, as it stood at each snapshot run.
-- A product's state "as of" a run: the version open at the run's time and not a tombstone.
with states as (
    select
        r.snapshot_run_id,
        r.taken_at,
        s.product_id,
        s.name,
        s.inventory
    from snapshots.snapshot_runs as r
    join snapshots.products_snapshot as s
        on s.valid_from <= r.taken_at
        and (s.valid_to is null or s.valid_to > r.taken_at)
        and not s.is_deleted
),
changed as (
    -- a product changed when its states hold more than one inventory (a NULL counts as one)
    select product_id
    from states
    group by product_id
    having count(distinct inventory) + max(case when inventory is null then 1 else 0 end) > 1
)
select product_id, name, snapshot_run_id, taken_at, inventory
from states
where product_id in (select product_id from changed)
order by product_id, taken_at
