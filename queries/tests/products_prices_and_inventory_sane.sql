-- Prices are positive, inventory is never negative, and order lines have a positive quantity.
select 'product' as kind, product_id as id, price_usd as value
from {{ ref('stg_products') }}
where price_usd <= 0 or inventory < 0
union all
select 'order line', order_id || '/' || product_id, quantity
from {{ ref('stg_order_items') }}
where quantity <= 0
