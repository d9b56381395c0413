-- The events of sessions lo..hi-1. Each session views its products one slot after another
-- (slot_seconds each): a page_view, an add_to_cart for the carted ones, now and then a second
-- look; a checkout session then checks out (its order), and package_shipped follows 2-9 hours
-- after the order for shipped and delivered orders.
with session_ids as (
    select s from range(getvariable('lo'), getvariable('hi')) as t(s)
),
{% include 'generate/_sessions.sql' %},
named as (
    select
        *,
        uuid_of('session', s) as session_id,
        uuid_of('user', user_index) as user_id
    from sessions
),
slots as (
    select *, unnest(range(viewed)) as j from named
),
slot_events as (
    select *, unnest([0, 1, 2]) as sub from slots
),
product_events as (
    select
        s,
        3 * j + sub as seq,
        session_id,
        user_id,
        slot_product(stride, first_product, j) as p,
        case when sub = 1 then 'add_to_cart' else 'page_view' end as event_type,
        started_at + (j * slot_seconds + case sub
            when 0 then pick(slot_seconds * 2 // 5, 'view_at', s, j)
            when 1 then slot_seconds // 2 + pick(slot_seconds * 2 // 5, 'cart_at', s, j)
            else slot_seconds * 19 // 20 end) as created_at
    from slot_events
    where sub = 0
       or (sub = 1 and slot_carted(rotation, viewed, carted, j))
       or (sub = 2 and u01('second_look', s, j) < 0.014)
),
order_events as (
    select
        s,
        seq,
        session_id,
        user_id,
        uuid_of('order', pos) as order_id,
        case seq when 1000000 then 'checkout' else 'package_shipped' end as event_type,
        case seq when 1000000 then checkout_at else shipped_at end as created_at
    from named, (values (1000000), (1000001)) as kinds(seq)
    where checks_out and (seq = 1000000 or order_status <> 'preparing')
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
