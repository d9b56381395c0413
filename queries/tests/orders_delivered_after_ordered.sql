-- No order is delivered before it was placed, and only delivered orders have a delivery time.
select order_id, order_status, created_at_utc, delivered_at_utc
from {{ ref('stg_orders') }}
where delivered_at_utc < created_at_utc
   or (delivered_at_utc is not null and order_status <> 'delivered')
