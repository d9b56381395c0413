-- Funnel events per product they concern: page views and carts name their product; an order-carrying event (checkout) counts for every product in its order.
select
    e.event_id,
    e.session_id,
    e.user_id,
    e.created_at_utc,
    e.event_type,
    e.step,
    coalesce(e.product_id, i.product_id) as product_id
from {{ ref('fct_funnel_events') }} as e
left join {{ ref('stg_order_items') }} as i
    on e.product_id is null and i.order_id = e.order_id
where coalesce(e.product_id, i.product_id) is not null
