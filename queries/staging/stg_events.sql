-- One row per web event; page_view/add_to_cart carry product_id, checkout/package_shipped order_id.
select
    event_id,
    session_id,
    user_id,
    page_url,
    created_at as created_at_utc,
    event_type,
    order_id,
    product_id
from {{ source('events') }}
