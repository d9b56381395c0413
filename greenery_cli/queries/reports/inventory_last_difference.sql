-- When the inventory last differed from the state at $to: the latest moment up to $to at which a
-- stretch of some product's history ended whose state (absent, or its inventory) is not the product's
-- state at $to. The latest snapshot run before that moment is the last earlier run whose inventory
-- differs, with how many runs were taken from it to $to; no row when every run so far holds the
-- same inventory as $to.
with state_at_to as (
    select product_id, inventory
    from snapshots.products_snapshot
    where valid_from <= $to and (valid_to is null or valid_to > $to) and not is_deleted
),

versions as (
    select
        product_id, inventory, is_deleted, valid_from, valid_to,
        lead(valid_from) over (partition by product_id order by valid_from, snapshot_row_id)
            as next_from
    from snapshots.products_snapshot
    where valid_from <= $to
),

differing_ends as (
    -- a version (a tombstone: absence) that ended by $to in a state other than the one at $to
    select v.valid_to as ended
    from versions as v
    left join state_at_to as t using (product_id)
    where v.valid_to <= $to
        and case
            when v.is_deleted then t.product_id is not null
            else t.product_id is null or t.inventory is distinct from v.inventory
        end
    union all
    -- absent before its first version, present at $to
    select min(v.valid_from)
    from versions as v
    join state_at_to as t using (product_id)
    group by v.product_id
    union all
    -- absent between a version closed with no successor (invalidated) and its return
    select v.next_from
    from versions as v
    join state_at_to as t using (product_id)
    where v.valid_to < v.next_from and v.next_from <= $to
),

found as (
    select r.snapshot_run_id, r.taken_at
    from snapshots.snapshot_runs as r
    where r.taken_at < (select max(ended) from differing_ends)
    order by r.taken_at desc, r.snapshot_run_id desc
    limit 1
)

-- that run, and how many runs were taken from it to $to (both included)
select f.snapshot_run_id, f.taken_at, count(*) as runs_in_window
from found as f
inner join snapshots.snapshot_runs as w on w.taken_at >= f.taken_at and w.taken_at <= $to
group by f.snapshot_run_id, f.taken_at
