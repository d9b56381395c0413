-- One row per promo code; discount is in dollars off the order.
select
    promo_id,
    discount as discount_usd,
    status as promo_status
from {{ source('promos') }}
