-- What `snapshot revert --dry-run` lists: the versions undoing the run would delete or re-open
-- (the Spark engine's dry run: DuckDB's reads the same rows from its plan's temp table).
select action, snapshot_row_id, product_id, name, price, inventory, is_deleted
from (
{% include 'snapshot/_revert_rows.sql' %}
) as reverted
order by product_id, action, snapshot_row_id
