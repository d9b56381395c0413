-- Every change a run made to a relation after run $1 (range_start/range_end NULL: throughout).
select run_id, relation, range_start, range_end, rows
from meta.changes
where run_id > $1
order by run_id, relation
