-- One row per web session: who, when, how many events of each type, what was viewed and carted, the order placed.
select
    session_id,
    any_value(user_id) as user_id,
    min(created_at_utc) as first_event_at_utc,
    max(created_at_utc) as last_event_at_utc,
    date_diff('second', min(created_at_utc), max(created_at_utc)) as duration_seconds,
    count(*) as events,
    count(*) filter (where event_type = 'page_view') as page_views,
    count(*) filter (where event_type = 'add_to_cart') as add_to_carts,
    count(*) filter (where event_type = 'checkout') as checkouts,
    count(*) filter (where event_type = 'package_shipped') as packages_shipped,
    count(distinct product_id) filter (where event_type = 'page_view') as products_viewed,
    count(distinct product_id) filter (where event_type = 'add_to_cart') as products_added_to_cart,
    min(order_id) filter (where event_type = 'checkout') as order_id
from {{ ref('stg_events') }}
group by session_id
