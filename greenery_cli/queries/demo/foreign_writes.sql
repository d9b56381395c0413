-- Runs since the demo made the warehouse that brought in data from anywhere but the demo's own
-- sample: a load or a snapshot from another source makes it a user's warehouse, not the demo's.
with demo as (
    select run_id, source from meta.demo order by run_id desc limit 1
)
select r.command, r.run_id
from meta.runs as r, demo
where r.status = 'success'
  and r.run_id > demo.run_id
  and (
      (r.command = 'load' and exists (
          select 1 from meta.loads as l
          where l.run_id = r.run_id and l.location is distinct from demo.source))
      or (r.command = 'snapshot' and {% if snapshots %}exists (
          select 1 from snapshots.snapshot_runs as s
          where s.snapshot_run_id = r.run_id and s.source is distinct from demo.source)
          {%- else %}true{% endif %})
      or r.command not in ('load', 'snapshot', 'build', 'test', 'freshness', 'demo')
  )
order by r.run_id
limit 1
