-- One row per product in an order.
select
    order_id,
    product_id,
    quantity
from {{ source('order_items') }}
