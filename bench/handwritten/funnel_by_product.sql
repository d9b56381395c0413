-- Hand-written funnel by product (mode any, unit session x product): the same definition per
-- product, over marts.fct_product_funnel_events (a checkout counts for every product of its
-- order); every product of marts.dim_products is listed.
with entries as (
    select session_id, product_id, min(created_at_utc) as entered_at
    from marts.fct_product_funnel_events
    where step = 1
    group by session_id, product_id
),

reached as (
    select
        e.session_id,
        e.product_id,
        bool_or(f.step = 2) as has_cart,
        bool_or(f.step = 3) as has_checkout
    from entries as e
    join marts.fct_product_funnel_events as f
        on f.session_id = e.session_id
        and f.product_id = e.product_id
        and f.step > 1
        and f.created_at_utc >= e.entered_at
        and f.created_at_utc <= e.entered_at + to_seconds($window_seconds)
    group by e.session_id, e.product_id
),

per_product as (
    select
        e.product_id,
        count(*) as viewed,
        count(*) filter (where r.has_cart) as added_to_cart,
        count(*) filter (where r.has_cart and r.has_checkout) as checked_out
    from entries as e
    left join reached as r on r.session_id = e.session_id and r.product_id = e.product_id
    group by e.product_id
)

select
    p.product_id,
    p.product_name as name,
    coalesce(pp.viewed, 0) as viewed,
    coalesce(pp.added_to_cart, 0) as added_to_cart,
    coalesce(pp.checked_out, 0) as checked_out
from marts.dim_products as p
left join per_product as pp on pp.product_id = p.product_id
order by viewed desc, name, product_id
