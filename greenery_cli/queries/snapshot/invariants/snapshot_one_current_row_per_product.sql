-- The products snapshot keeps exactly one current (open) version per product.
select product_id, count(*) as current_versions
from {{ snapshot('products_snapshot') }}
where valid_to is null
group by product_id
having count(*) > 1
