-- The events of sessions lo..hi-1. Each session views its products one slot after another
-- (slot_seconds each): a page_view, an add_to_cart for the carted ones, now and then a second
-- look; a checkout session then checks out (its order), and package_shipped follows 2-9 hours
-- after the order for shipped and delivered orders.
with sessions as (
    select
        s,
        uuid_of('session', s) as session_id,
        uuid_of('user', session_user(s)) as user_id
    from range(getvariable('lo'), getvariable('hi')) as t(s)
),
slots as (
    select s, session_id, user_id, unnest(range(session_viewed(s))) as j from sessions
),
slot_events as (
    select s, session_id, user_id, j, unnest([0, 1, 2]) as sub from slots
),
product_events as (
    select
        s,
        3 * j + sub as seq,
        session_id,
        user_id,
        session_product(s, j) as p,
        case when sub = 1 then 'add_to_cart' else 'page_view' end as event_type,
        slot_started(s, j) + to_seconds(case sub
            when 0 then pick(session_slot_seconds(s) * 2 // 5, 'view_at', s, j)
            when 1 then session_slot_seconds(s) // 2
                        + pick(session_slot_seconds(s) * 2 // 5, 'cart_at', s, j)
            else session_slot_seconds(s) * 19 // 20 end) as created_at
    from slot_events
    where sub = 0
       or (sub = 1 and slot_carted(s, j))
       or (sub = 2 and u01('second_look', s, j) < 0.014)
),
order_events as (
    select s, seq, session_id, user_id, uuid_of('order', session_pos(s)) as order_id,
        case seq when 1000000 then 'checkout' else 'package_shipped' end as event_type,
        case seq when 1000000 then session_checkout_at(s) else order_shipped_at(s) end
            as created_at
    from sessions, (values (1000000), (1000001)) as kinds(seq)
    where session_checks_out(s) and (seq = 1000000 or order_is_shipped(s))
)
select
    uuid_of2('event', s, seq) as event_id,
    session_id,
    user_id,
    'https://greenery.com/product/' || product_ids.product_id as page_url,
    created_at,
    event_type,
    null::varchar as order_id,
    product_ids.product_id,
    s as _k1,
    seq as _k2
from product_events
join product_ids using (p)
union all
select
    uuid_of2('event', s, seq),
    session_id,
    user_id,
    case event_type when 'checkout' then 'https://greenery.com/checkout/'
                    else 'https://greenery.com/shipping/' end || order_id,
    created_at,
    event_type,
    order_id,
    null,
    s,
    seq
from order_events
