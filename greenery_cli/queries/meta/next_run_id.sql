-- The next run id where no sequence exists (Spark), one past the newest logged run.
select coalesce(max(run_id), 0) + 1 from meta.runs
