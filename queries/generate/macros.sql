-- The generator's building blocks: pseudo-randomness and every derived quantity as a pure
-- function of (seed, row index), so any table can be generated in any chunk, in any thread,
-- and always give the same values. Sizes come from session variables set by greenery_cli.generate.

-- a uniform number in [0, 1) for (seed, what, i, j): hash() is deterministic, random() is not
create or replace temp macro u01(what, i, j) as
    hash(getvariable('seed'), what, i, j) / 18446744073709551616.0;
-- a uniform integer in [0, n)
create or replace temp macro pick(n, what, i, j) as least(floor(u01(what, i, j) * n), n - 1)::bigint;
-- a version-4-shaped UUID from 32 hex digits
create or replace temp macro uuid_hex(h) as
    substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-'
    || substr('89ab', (ascii(substr(h, 17, 1)) % 4) + 1, 1) || substr(h, 18, 3) || '-'
    || substr(h, 21, 12);
-- the id of row i of an entity (what = 'user', 'order', ...), stable for a seed
create or replace temp macro uuid_of(what, i) as
    uuid_hex(md5(getvariable('seed')::varchar || ':' || what || ':' || i::varchar));
create or replace temp macro uuid_of2(what, i, j) as
    uuid_hex(md5(getvariable('seed')::varchar || ':' || what || ':' || i::varchar || ':' || j::varchar));
create or replace temp macro at_second(offset_seconds) as
    getvariable('window_start') + to_seconds(offset_seconds);

-- products: p in [0, n_products)
create or replace temp macro product_price(p) as 15 + 0.25 * pick(321, 'price', p, 0);
create or replace temp macro product_first_inventory(p) as 40 + pick(61, 'inventory', p, 0);

-- sessions: s in [0, n_sessions). An affine permutation of s decides the session's kind with
-- exact counts: its first n_orders positions check out (pos is then the order's index), the
-- next n_carts only add to cart, the rest only browse.
create or replace temp macro session_pos(s) as
    (s * getvariable('session_a') + getvariable('session_b')) % getvariable('n_sessions');
create or replace temp macro order_session(o) as
    (((o - getvariable('session_b')) % getvariable('n_sessions') + getvariable('n_sessions'))
     % getvariable('n_sessions')) * getvariable('session_a_inv') % getvariable('n_sessions');
create or replace temp macro session_checks_out(s) as session_pos(s) < getvariable('n_orders');
create or replace temp macro session_carts(s) as
    session_pos(s) < getvariable('n_orders') + getvariable('n_carts');
create or replace temp macro session_user(s) as pick(getvariable('n_users'), 'session_user', s, 0);
create or replace temp macro session_started(s) as
    at_second(pick(getvariable('window_seconds'), 'session_start', s, 0));
-- seconds each viewed product takes (view, maybe add to cart, move on)
create or replace temp macro session_slot_seconds(s) as 40 + pick(80, 'slot_seconds', s, 0);
-- products added to cart: the real order-size distribution for checkouts, mostly 1 otherwise
create or replace temp macro session_carted_wanted(s) as case
    when session_checks_out(s) then case
        when u01('order_size', s, 0) < 0.2465 then 1 when u01('order_size', s, 0) < 0.6150 then 2
        when u01('order_size', s, 0) < 0.8366 then 3 when u01('order_size', s, 0) < 0.9418 then 4
        when u01('order_size', s, 0) < 0.9806 then 5 when u01('order_size', s, 0) < 0.9917 then 6
        else 7 end
    when session_carts(s) then case when u01('order_size', s, 0) < 0.84 then 1 else 2 end
    else 0 end;
-- products viewed: the carted ones plus some only looked at (browsing sessions view 1-3)
create or replace temp macro session_viewed(s) as least(getvariable('n_products'), case
    when session_checks_out(s) then session_carted_wanted(s) + pick(4, 'extra_views', s, 0)
    when session_carts(s) then session_carted_wanted(s) + pick(3, 'extra_views', s, 0)
    else 1 + least(floor(u01('extra_views', s, 0) * 2.42), 2)::bigint end);
create or replace temp macro session_carted(s) as least(session_carted_wanted(s), session_viewed(s));
-- the product of viewing slot j: a per-session affine permutation of the catalogue, so the
-- products of one session are distinct
create or replace temp macro session_product(s, j) as
    (getvariable('product_units')[1 + pick(len(getvariable('product_units')), 'stride', s, 0)] * j
     + pick(getvariable('n_products'), 'first_product', s, 0)) % getvariable('n_products');
-- the carted slots are a rotated block of the viewed ones; slot of the k-th carted product
create or replace temp macro session_rotation(s) as pick(session_viewed(s), 'rotation', s, 0);
create or replace temp macro slot_carted(s, j) as
    (j + session_rotation(s)) % session_viewed(s) < session_carted(s);
create or replace temp macro carted_slot(s, k) as
    (k - session_rotation(s) + session_viewed(s)) % session_viewed(s);
create or replace temp macro slot_started(s, j) as
    session_started(s) + to_seconds(j * session_slot_seconds(s));
create or replace temp macro session_checkout_at(s) as
    session_started(s) + to_seconds(session_viewed(s) * session_slot_seconds(s)
                                    + pick(30, 'checkout_delay', s, 0));

-- orders, by their session s (o = session_pos(s)): the app creates the order 1-5 s after checkout
create or replace temp macro order_created(s) as
    session_checkout_at(s) + to_seconds(1 + pick(5, 'order_delay', s, 0));
create or replace temp macro order_status(s) as case
    when u01('status', s, 0) < 0.072 then 'preparing'
    when u01('status', s, 0) < 0.155 then 'shipped'
    else 'delivered' end;
create or replace temp macro order_is_shipped(s) as order_status(s) <> 'preparing';
create or replace temp macro order_shipped_at(s) as
    order_created(s) + to_hours(2 + pick(8, 'ship_delay', s, 0));
create or replace temp macro order_quantity(s, k) as 1 + pick(4, 'quantity', s, k);
create or replace temp macro order_product(s, k) as session_product(s, carted_slot(s, k));

-- promos: i in [0, n_promos)
create or replace temp macro promo_name(i) as getvariable('promo_names')[i + 1];
create or replace temp macro promo_discount(i) as 2 + pick(19, 'discount', i, 0);

-- catalogue names: the plant list, then plant + variety, then numbered
create or replace temp macro product_name(p) as
    getvariable('plants')[1 + (p + getvariable('plant_offset')) % len(getvariable('plants'))]
    || case when p < len(getvariable('plants')) then ''
            else ' ' || getvariable('varieties')[
                1 + (p // len(getvariable('plants')) - 1) % len(getvariable('varieties'))] end
    || case when p < len(getvariable('plants')) * (len(getvariable('varieties')) + 1) then ''
            else ' No. ' || (p // (len(getvariable('plants')) * (len(getvariable('varieties')) + 1))
                             + 1)::varchar end;
