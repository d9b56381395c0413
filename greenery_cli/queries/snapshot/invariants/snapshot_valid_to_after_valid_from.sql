-- A closed version ends strictly after it began, and was closed by a run.
select product_id, snapshot_row_id, valid_from, valid_to, closed_by_run
from {{ snapshot('products_snapshot') }}
where valid_to is not null and (valid_to <= valid_from or closed_by_run is null)
