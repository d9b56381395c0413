-- Orders lo..hi-1. Order o was placed by the session at position o of the session permutation;
-- its cost is its items' (order_items.sql) prices times quantities, its total adds shipping
-- and takes off the promo's discount.
with session_ids as (
    select order_session(o) as s from range(getvariable('lo'), getvariable('hi')) as t(o)
),
{% include 'generate/_sessions.sql' %},
lines as (
    select s, unnest(range(carted)) as k, rotation, viewed, stride, first_product from sessions
),
costs as (
    select
        s,
        sum(product_price(slot_product(stride, first_product, carted_slot(rotation, viewed, k)))
            * order_quantity(s, k)) as order_cost
    from lines
    group by s
),
priced as (
    select
        sessions.*,
        round(costs.order_cost, 2) as order_cost,
        pick(getvariable('n_promos'), 'promo', s, 0) as promo_index,
        u01('has_promo', s, 0) < 0.11 and costs.order_cost > promo_discount(promo_index)
            as has_promo,
        round(1 + pick(900, 'shipping_cost', s, 0) / 100.0, 2) as shipping_cost,
        u01('shipping_service', s, 0) as service_u
    from sessions
    join costs using (s)
)
select
    uuid_of('order', pos) as order_id,
    uuid_of('user', user_index) as user_id,
    case when has_promo then promo_name(promo_index) end as promo_id,
    uuid_of('address', pick(getvariable('n_addresses'), 'order_address', s, 0)) as address_id,
    order_created_at as created_at,
    order_cost,
    shipping_cost,
    round(order_cost + shipping_cost
          - case when has_promo then promo_discount(promo_index) else 0 end, 2) as order_total,
    case when order_status <> 'preparing' then uuid_of('tracking', pos) end as tracking_id,
    case when order_status = 'preparing' then null
         when service_u < 0.50 then 'ups'
         when service_u < 0.79 then 'fedex'
         when service_u < 0.97 then 'usps'
         else 'dhl' end as shipping_service,
    case when order_status <> 'preparing' and u01('estimate_missing', s, 0) >= 0.063
         then order_created_at + 86400 * (1 + pick(5, 'estimate_days', s, 0)) end
        as estimated_delivery_at,
    case when order_status = 'delivered'
         then order_created_at + 86400 * (1 + pick(7, 'delivery_days', s, 0)) end as delivered_at,
    order_status as status,
    pos as _k1,
    0 as _k2
from priced
