-- Hand-written stockouts: spells of consecutive versions with inventory <= 0 that overlap the
-- 3 weeks before the latest snapshot run; each with its start, end, restock and lowest inventory.
with latest as (
    select max(taken_at) as end_at, max(taken_at) - interval 3 weeks as start_at
    from snapshots.snapshot_runs
),

versions as (
    select
        product_id, name, inventory, valid_from, valid_to,
        coalesce(inventory <= 0, false) as is_out,
        lag(coalesce(inventory <= 0, false)) over by_time as was_out,
        lag(valid_to) over by_time as previous_valid_to
    from snapshots.products_snapshot
    where not is_deleted
    window by_time as (partition by product_id order by valid_from, snapshot_row_id)
),

islands as (
    select
        *,
        sum(case when is_out and not (coalesce(was_out, false)
            and previous_valid_to = valid_from) then 1 else 0 end)
            over (partition by product_id order by valid_from
                rows between unbounded preceding and current row) as spell_no
    from versions
),

spells as (
    select
        product_id,
        spell_no,
        arg_max(name, valid_from) as name,
        min(valid_from) as out_since,
        case when bool_or(valid_to is null) then null else max(valid_to) end as ended_at,
        min(inventory) as lowest_inventory
    from islands
    where is_out
    group by product_id, spell_no
)

select
    s.product_id, s.name, s.out_since, r.valid_from as restocked_at,
    r.inventory as restocked_inventory, s.ended_at, s.lowest_inventory
from spells as s
cross join latest as l
left join versions as r on r.product_id = s.product_id and r.valid_from = s.ended_at
where s.out_since <= l.end_at and (s.ended_at is null or s.ended_at > l.start_at)
order by s.out_since, s.name, s.product_id
