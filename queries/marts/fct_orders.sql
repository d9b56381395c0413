-- One row per order, with its items, promo discount and delivery times.
with items as (
    select order_id, count(*) as distinct_products, sum(quantity) as units
    from {{ ref('stg_order_items') }}
    group by order_id
)
select
    o.*,
    coalesce(items.distinct_products, 0) as distinct_products,
    coalesce(items.units, 0) as units,
    p.discount_usd as promo_discount_usd,
    o.promo_id is not null as used_promo,
    date_diff('hour', o.created_at_utc, o.delivered_at_utc) as hours_to_delivery,
    g.state_code as ship_to_state_code,
    g.region as ship_to_region
from {{ ref('stg_orders') }} as o
left join items on items.order_id = o.order_id
left join {{ ref('stg_promos') }} as p on p.promo_id = o.promo_id
left join {{ ref('int_addresses_geo') }} as g on g.address_id = o.address_id
