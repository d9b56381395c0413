-- Hand-written funnel events straight from raw.events (run by job.py funnel-from-files, after it
-- loaded the events file): the funnel's three steps by event type, as the view that
-- funnel_by_step.sql reads, so from new files to the answer nothing else is built.
create view marts.fct_funnel_events as
select e.event_id, e.session_id, e.created_at as created_at_utc, s.step
from raw.events as e
join (values ('page_view', 1), ('add_to_cart', 2), ('checkout', 3)) as s (event_type, step)
    using (event_type)
