-- Who dropped off (furthest step = $step - 1) or got there (furthest step >= $step): each unit's counted attempt,
-- oldest entry first, at most $limit rows, with the number matching in every row.
-- Context as reports/funnel_attempts.sql, plus kind (dropped|reached).
{% include 'reports/funnel_attempts.sql' %},
matching as (
    select *
    from counted_attempts
    where {{ 'level = $step - 1' if kind == 'dropped' else 'level >= $step' }}
)
select
    entry_session_id as session_id,
    entry_user_id as user_id,
    entered_at,
    level as furthest_step,
    count(*) over () as matching
from matching
order by entered_at, unit_id, entry_event_id
limit $limit
