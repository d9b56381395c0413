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
-- times are whole seconds since the Unix epoch until they are written (ICU-free, fast)
create or replace temp macro at_second(offset_seconds) as getvariable('window_start') + offset_seconds;

-- products: p in [0, n_products)
create or replace temp macro product_price(p) as 15 + 0.25 * pick(321, 'price', p, 0);
create or replace temp macro product_first_inventory(p) as 40 + pick(61, 'inventory', p, 0);

-- sessions: the per-session facts are computed once per session in _sessions.sql; these
-- map an order index back to its session (the inverse of the session permutation there)
create or replace temp macro order_session(o) as
    (((o - getvariable('session_b')) % getvariable('n_sessions') + getvariable('n_sessions'))
     % getvariable('n_sessions')) * getvariable('session_a_inv') % getvariable('n_sessions');
-- the product in viewing slot j: a per-session affine permutation of the catalogue, so the
-- products of one session are distinct
create or replace temp macro slot_product(stride, first_product, j) as
    (stride * j + first_product) % getvariable('n_products');
-- the carted slots are a rotated block of the viewed ones
create or replace temp macro slot_carted(rotation, viewed, carted, j) as
    (j + rotation) % viewed < carted;
create or replace temp macro carted_slot(rotation, viewed, k) as (k - rotation + viewed) % viewed;
create or replace temp macro order_quantity(s, k) as 1 + pick(4, 'quantity', s, k);

-- promos: i in [0, n_promos)
create or replace temp macro promo_name(i) as getvariable('promo_names')[i + 1];
create or replace temp macro promo_discount(i) as 2 + pick(19, 'discount', i, 0);

-- catalogue names, distinct: the plant list, then each plant with each variety, then all
-- of those again numbered ("No. 2", ...)
create or replace temp macro product_name(p) as
    getvariable('plants')[1 + (p + getvariable('plant_offset')) % len(getvariable('plants'))]
    || case when (p % (len(getvariable('plants')) * (len(getvariable('varieties')) + 1)))
                 // len(getvariable('plants')) = 0 then ''
            else ' ' || getvariable('varieties')[
                (p % (len(getvariable('plants')) * (len(getvariable('varieties')) + 1)))
                // len(getvariable('plants'))] end
    || case when p < len(getvariable('plants')) * (len(getvariable('varieties')) + 1) then ''
            else ' No. ' || (p // (len(getvariable('plants')) * (len(getvariable('varieties')) + 1))
                             + 1)::varchar end;
