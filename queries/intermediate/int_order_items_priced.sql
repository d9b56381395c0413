-- One row per product in an order, with the product's catalogue price at load time.
select
    i.order_id,
    i.product_id,
    i.quantity,
    p.price_usd,
    i.quantity * p.price_usd as line_value_usd
from {{ ref('stg_order_items') }} as i
left join {{ ref('stg_products') }} as p using (product_id)
