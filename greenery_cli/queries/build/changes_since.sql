-- Every change a run made to a relation after run $since (range_start/range_end NULL: throughout).
select run_id, relation, range_start, range_end, rows
from meta.changes
where run_id > $since
order by run_id, relation
