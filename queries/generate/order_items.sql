-- The lines of orders lo..hi-1: the products its session added to cart, 1-4 of each.
with lines as (
    select o, order_session(o) as s, unnest(range(session_carted(order_session(o)))) as k
    from range(getvariable('lo'), getvariable('hi')) as t(o)
)
select
    uuid_of('order', o) as order_id,
    product_ids.product_id,
    order_quantity(s, k) as quantity,
    o as _k1,
    k as _k2
from lines
join product_ids on product_ids.p = order_product(s, k)
