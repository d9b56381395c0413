-- Orders still 'shipped' after their estimated delivery, as of the newest event in the data.
{{ config(severity='warn', reason="carriers run late: 4 orders in the 2021 export are still in transit past their estimate") }}
select order_id, shipping_service, estimated_delivery_at_utc
from {{ ref('stg_orders') }}
where order_status = 'shipped'
  and estimated_delivery_at_utc < (select max(created_at_utc) from {{ ref('stg_events') }})
