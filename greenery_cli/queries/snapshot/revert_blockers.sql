-- A version the run opened that another run has since closed: undoing the run would orphan that run's work.
select product_id, snapshot_row_id, closed_by_run
from snapshot_reverted
where action = 'delete' and closed_by_run is not null
order by product_id
limit 5
