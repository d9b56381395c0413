{#- Per-session facts, computed once per session from a CTE session_ids(s). An affine
    permutation of s decides the session's kind with exact counts: its first n_orders positions
    check out (pos is then the order's index), the next n_carts only add to cart, the rest
    browse. Included by events.sql, orders.sql and order_items.sql so they agree. -#}
session_kinds as (
    select
        s,
        (s * getvariable('session_a') + getvariable('session_b')) % getvariable('n_sessions')
            as pos,
        pos < getvariable('n_orders') as checks_out,
        pos < getvariable('n_orders') + getvariable('n_carts') as carts,
        u01('order_size', s, 0) as size_u
    from session_ids
),
session_sizes as (
    select
        *,
        -- products added to cart: the real order-size distribution for checkouts
        case when checks_out then case
                when size_u < 0.2465 then 1 when size_u < 0.6150 then 2
                when size_u < 0.8366 then 3 when size_u < 0.9418 then 4
                when size_u < 0.9806 then 5 when size_u < 0.9917 then 6 else 7 end
             when carts then case when size_u < 0.84 then 1 else 2 end
             else 0 end as carted_wanted
    from session_kinds
),
session_views as (
    select
        *,
        -- products viewed: the carted ones plus some only looked at (browsers view 1-3)
        least(getvariable('n_products'), case
            when checks_out then carted_wanted + pick(4, 'extra_views', s, 0)
            when carts then carted_wanted + pick(3, 'extra_views', s, 0)
            else 1 + least(floor(u01('extra_views', s, 0) * 2.42), 2)::bigint end) as viewed
    from session_sizes
),
sessions as (
    select
        s,
        pos,
        checks_out,
        viewed,
        least(carted_wanted, viewed) as carted,
        pick(viewed, 'rotation', s, 0) as rotation,
        getvariable('product_units')[
            1 + pick(len(getvariable('product_units')), 'stride', s, 0)] as stride,
        pick(getvariable('n_products'), 'first_product', s, 0) as first_product,
        pick(getvariable('n_users'), 'session_user', s, 0) as user_index,
        at_second(pick(getvariable('window_seconds'), 'session_start', s, 0)) as started_at,
        -- seconds each viewed product takes (view, maybe add to cart, move on)
        40 + pick(80, 'slot_seconds', s, 0) as slot_seconds,
        started_at + (viewed * slot_seconds + pick(30, 'checkout_delay', s, 0))
            as checkout_at,
        -- the app creates the order 1-5 s after the checkout event
        checkout_at + (1 + pick(5, 'order_delay', s, 0)) as order_created_at,
        case when u01('status', s, 0) < 0.072 then 'preparing'
             when u01('status', s, 0) < 0.155 then 'shipped'
             else 'delivered' end as order_status,
        order_created_at + 3600 * (2 + pick(8, 'ship_delay', s, 0)) as shipped_at
    from session_views
)
