-- The catalogue as it stood in week `week` (week 1 is raw/products).
select
    uuid_of('product', p) as product_id,
    product_name(p) as name,
    product_price(p) as price,
    inventory,
    p as _k1,
    0 as _k2
from inventory_states
where week = getvariable('week') and p >= getvariable('lo') and p < getvariable('hi')
