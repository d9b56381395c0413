-- The lines of orders lo..hi-1: the products its session added to cart, 1-4 of each.
with session_ids as (
    select order_session(o) as s from range(getvariable('lo'), getvariable('hi')) as t(o)
),
{% include 'generate/_sessions.sql' %},
lines as (
    select s, pos, unnest(range(carted)) as k, rotation, viewed, stride, first_product
    from sessions
)
select
    uuid_of('order', pos) as order_id,
    product_ids.product_id,
    order_quantity(s, k) as quantity,
    pos as _k1,
    k as _k2
from lines
join product_ids
  on product_ids.p = slot_product(stride, first_product, carted_slot(rotation, viewed, k))
