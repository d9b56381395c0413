-- Hand-written funnel by product, greenery's default (mode any, unit session x product, attempts):
-- the same definition per product over marts.fct_product_funnel_events (a checkout counts for every
-- product of its order), and the stock at the view that entered each (session, product)'s furthest
-- attempt (its earliest, if several went as far), from snapshots.products_snapshot: out of stock
-- at inventory <= 0, unknown where no version covers the view. Every product of marts.dim_products
-- is listed.
with attempts as (
    select
        v.session_id,
        v.product_id,
        v.created_at_utc as viewed_at,
        case
            when not coalesce(bool_or(f.step = 2), false) then 1
            when not coalesce(bool_or(f.step = 3), false) then 2
            else 3
        end as level
    from marts.fct_product_funnel_events as v
    left join marts.fct_product_funnel_events as f
        on f.session_id = v.session_id
        and f.product_id = v.product_id
        and f.step > 1
        and f.created_at_utc >= v.created_at_utc
        and f.created_at_utc <= v.created_at_utc + to_seconds($window_seconds)
    where v.step = 1
    group by v.session_id, v.product_id, v.event_id, v.created_at_utc
),

furthest as (
    select session_id, product_id, max(level) as level
    from attempts
    group by session_id, product_id
),

counted as (
    select f.session_id, f.product_id, f.level, min(a.viewed_at) as viewed_at
    from furthest as f
    join attempts as a
        on a.session_id = f.session_id and a.product_id = f.product_id and a.level = f.level
    group by f.session_id, f.product_id, f.level
),

stocked as (
    select
        c.product_id,
        c.level,
        case when s.inventory <= 0 then 'out' when s.inventory > 0 then 'in' end as stock
    from counted as c
    left join snapshots.products_snapshot as s
        on s.product_id = c.product_id
        and s.valid_from <= c.viewed_at
        and (s.valid_to is null or c.viewed_at < s.valid_to)
        and not s.is_deleted
),

per_product as (
    select
        product_id,
        count(*) as viewed,
        count(*) filter (where level >= 2) as added_to_cart,
        count(*) filter (where level >= 3) as checked_out,
        count(*) filter (where stock = 'out') as viewed_out_of_stock,
        count(*) filter (where stock = 'out' and level = 3) as converted_out_of_stock,
        count(*) filter (where stock = 'in') as viewed_in_stock,
        count(*) filter (where stock = 'in' and level = 3) as converted_in_stock,
        count(*) filter (where stock is null) as viewed_stock_unknown
    from stocked
    group by product_id
)

select
    p.product_id,
    p.product_name as name,
    coalesce(pp.viewed, 0) as viewed,
    coalesce(pp.added_to_cart, 0) as added_to_cart,
    coalesce(pp.checked_out, 0) as checked_out,
    coalesce(pp.viewed_out_of_stock, 0) as viewed_out_of_stock,
    coalesce(pp.converted_out_of_stock, 0) as converted_out_of_stock,
    coalesce(pp.viewed_in_stock, 0) as viewed_in_stock,
    coalesce(pp.converted_in_stock, 0) as converted_in_stock,
    coalesce(pp.viewed_stock_unknown, 0) as viewed_stock_unknown
from marts.dim_products as p
left join per_product as pp on pp.product_id = p.product_id
order by viewed desc, name, product_id
