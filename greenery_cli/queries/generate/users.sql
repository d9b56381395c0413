-- Users lo..hi-1: invented names, an email unique by its row number, created in 2020 and
-- updated before the first session; address_id points at a random address.
select
    uuid_of('user', u) as user_id,
    getvariable('first_names')[1 + pick(len(getvariable('first_names')), 'first_name', u, 0)]
        as first_name,
    getvariable('last_names')[1 + pick(len(getvariable('last_names')), 'last_name', u, 0)]
        as last_name,
    lower(first_name[1] || regexp_replace(last_name, '[^A-Za-z]', '', 'g')) || u::varchar || '@'
        || getvariable('email_domains')[1 + pick(len(getvariable('email_domains')), 'domain', u, 0)]
        as email,
    format('{:03d}-{:03d}-{:04d}', 100 + pick(900, 'phone', u, 1), pick(1000, 'phone', u, 2),
           pick(10000, 'phone', u, 3)) as phone_number,
    -- 2020-01-01T00:00:00Z plus up to a year
    1577836800 + pick(366 * 86400, 'user_created', u, 0) as created_at,
    created_at + floor(u01('user_updated', u, 0) * (getvariable('window_start') - created_at))::bigint
        as updated_at,
    uuid_of('address', pick(getvariable('n_addresses'), 'user_address', u, 0)) as address_id,
    u as _k1,
    0 as _k2
from range(getvariable('lo'), getvariable('hi')) as t(u)
