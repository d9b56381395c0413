-- Addresses lo..hi-1: house number (1-5 digits), street, zipcode, a US state (weighted).
select
    uuid_of('address', a) as address_id,
    floor(pow(10, 5 * u01('house_number', a, 0)))::bigint::varchar || ' '
        || getvariable('street_names')[1 + pick(len(getvariable('street_names')), 'street', a, 0)]
        || ' '
        || getvariable('street_suffixes')[
            1 + pick(len(getvariable('street_suffixes')), 'suffix', a, 0)] as address,
    10000 + pick(90000, 'zipcode', a, 0) as zipcode,
    getvariable('states')[1 + pick(len(getvariable('states')), 'state', a, 0)] as state,
    'United States' as country,
    a as _k1,
    0 as _k2
from range(getvariable('lo'), getvariable('hi')) as t(a)
