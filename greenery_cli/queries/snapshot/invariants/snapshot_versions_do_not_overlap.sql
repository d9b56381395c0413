-- No two versions of a product are valid at the same moment.
select a.product_id, a.snapshot_row_id, a.valid_from, a.valid_to,
       b.snapshot_row_id as other_row_id, b.valid_from as other_valid_from, b.valid_to as other_valid_to
from {{ snapshot('products_snapshot') }} as a
join {{ snapshot('products_snapshot') }} as b
  on a.product_id = b.product_id
 and a.snapshot_row_id < b.snapshot_row_id
 and a.valid_from < coalesce(b.valid_to, 'infinity'::timestamptz)
 and b.valid_from < coalesce(a.valid_to, 'infinity'::timestamptz)
