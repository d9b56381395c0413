-- Every order was placed by a checkout event in some session.
select o.order_id, o.user_id, o.created_at_utc
from {{ ref('stg_orders') }} as o
where not exists (
    select 1 from {{ ref('stg_events') }} as e
    where e.event_type = 'checkout' and e.order_id = o.order_id
)
