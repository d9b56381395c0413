-- The snapshot's latest effective run and how long the latest successful `snapshot` command took.
select
    (select max(taken_at) from snapshots.snapshot_runs) as taken_at,
    (select count(*) from snapshots.snapshot_runs) as runs,
    (
        select max_by(duration_s, run_id) from meta.runs
        where command = 'snapshot' and status = 'success'
    ) as duration_s
