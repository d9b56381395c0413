-- Every web event with its funnel step (NULL outside the funnel) and its run of same-step events in the session and in the user's history: what strict funnels read.
-- Same-second ties are taken in funnel step order, events outside the funnel last, then by event_id.
with stepped as (
    select
        e.event_id,
        e.session_id,
        e.user_id,
        e.created_at_utc,
        e.event_type,
        f.step,
        coalesce(f.step, -1) as step_key
    from {{ ref('stg_events') }} as e
    left join {{ seed('funnel_steps') }} as f using (event_type)
),
run_starts as (
    select
        *,
        lag(step_key, 1, -2) over session_path <> step_key as starts_session_run,
        lag(step_key, 1, -2) over user_path <> step_key as starts_user_run
    from stepped
    window
        session_path as (partition by session_id order by created_at_utc, step nulls last, event_id),
        user_path as (partition by user_id order by created_at_utc, step nulls last, event_id)
)
select
    event_id,
    session_id,
    user_id,
    created_at_utc,
    event_type,
    step,
    sum(starts_session_run::integer) over (
        partition by session_id order by created_at_utc, step nulls last, event_id
        rows unbounded preceding
    ) as session_run,
    sum(starts_user_run::integer) over (
        partition by user_id order by created_at_utc, step nulls last, event_id
        rows unbounded preceding
    ) as user_run
from run_starts
