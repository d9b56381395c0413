-- The versions a run would open, as DuckDB's snapshot_opened holds them (each with the change that
-- opens it), read from the history after the run (next_state.sql's rows): the Spark engine's dry
-- run. Context: next (the history after the run), key, columns. Values: $run_id.
select n.snapshot_row_id, {% for column in columns %}n.{{ column }}, {% endfor %}n.is_deleted, c.change
from {{ next }} as n
join snapshot_changes as c on c.product_id = n.{{ key }}
where n.opened_by_run = $run_id
