-- spells at or below $threshold overlapping [$start, $end]: when each began and what ended it
with present as (
    select
        product_id, name, inventory, valid_from, valid_to, snapshot_row_id,
        coalesce(inventory <= $threshold, false) as is_out
    from snapshots.products_snapshot
    where not is_deleted
),

flagged as (
    -- an out version opens a spell unless the version just before it was out and touched it
    select
        *,
        is_out and not coalesce(
            lag(is_out) over by_time and lag(valid_to) over by_time = valid_from, false
        ) as opens_spell
    from present
    window by_time as (partition by product_id order by valid_from, snapshot_row_id)
),

numbered as (
    select
        *,
        sum(opens_spell::integer) over (
            partition by product_id order by valid_from, snapshot_row_id
            rows between unbounded preceding and current row
        ) as spell_no
    from flagged
),

spells as (
    select
        product_id,
        spell_no,
        arg_max(name, valid_from) as name,
        min(valid_from) as out_since,
        -- NULL while the spell's last version is still current
        case when count(*) filter (where valid_to is null) > 0 then null else max(valid_to) end
            as ended_at,
        min(inventory) as lowest_inventory
    from numbered
    where is_out
    group by product_id, spell_no
)

select
    s.product_id,
    s.name,
    s.out_since,
    r.valid_from as restocked_at,
    r.inventory as restocked_inventory,
    s.ended_at,
    s.lowest_inventory,
    case
        when s.ended_at is null then 'still out'
        when r.product_id is not null then 'restocked'
        else 'removed'
    end as status,
    round((epoch(coalesce(s.ended_at, $end)) - epoch(s.out_since)) / 86400, 2) as days_out
from spells as s
left join present as r on r.product_id = s.product_id and r.valid_from = s.ended_at
where s.out_since <= $end and (s.ended_at is null or s.ended_at > $start)
order by s.out_since, s.name, s.product_id
