-- One row per product: catalogue facts, current inventory and lifetime sales.
with sold as (
    select product_id, sum(quantity) as units_sold, count(distinct order_id) as orders
    from {{ ref('stg_order_items') }}
    group by product_id
)
select
    p.product_id,
    p.product_name,
    p.price_usd,
    p.inventory,
    coalesce(sold.units_sold, 0) as units_sold,
    coalesce(sold.orders, 0) as orders
from {{ ref('stg_products') }} as p
left join sold using (product_id)
