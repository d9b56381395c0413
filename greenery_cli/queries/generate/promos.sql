-- The promo codes: human-readable ids, a dollar discount of 2-20, one of them active.
select
    promo_name(i) as promo_id,
    promo_discount(i) as discount,
    case when i = pick(getvariable('n_promos'), 'active_promo', 0, 0) then 'active'
         else 'inactive' end as status,
    i as _k1,
    0 as _k2
from range(getvariable('lo'), getvariable('hi')) as t(i)
