-- No two versions of a product are valid at the same moment.
select a.product_id, a.snapshot_row_id, a.valid_from, a.valid_to,
       b.snapshot_row_id as other_row_id, b.valid_from as other_valid_from, b.valid_to as other_valid_to
from {{ snapshot('products_snapshot') }} as a
join {{ snapshot('products_snapshot') }} as b
  on a.product_id = b.product_id
 and a.snapshot_row_id < b.snapshot_row_id
 and (b.valid_to is null or a.valid_from < b.valid_to)  -- an open version runs to the end of time
 and (a.valid_to is null or b.valid_from < a.valid_to)
