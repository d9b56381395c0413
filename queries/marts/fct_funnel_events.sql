-- Events that are steps of the funnel (funnel_steps seed), with their step number: what funnel queries read.
select
    e.event_id,
    e.session_id,
    e.user_id,
    e.created_at_utc,
    e.event_type,
    f.step,
    e.product_id,
    e.order_id
from {{ ref('stg_events') }} as e
join {{ seed('funnel_steps') }} as f using (event_type)
