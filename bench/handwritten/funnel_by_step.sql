-- Hand-written funnel by step (the definition of queries/reports/funnel_*.sql, mode any, unit
-- session): a session enters at its first page_view; it reaches add_to_cart / checkout when it has
-- such an event at or after entering and at most $window_seconds later (checkout only counts
-- after add_to_cart was reached). Reads the same mart, marts.fct_funnel_events.
with entries as (
    select session_id, min(created_at_utc) as entered_at
    from marts.fct_funnel_events
    where step = 1
    group by session_id
),

reached as (
    select
        e.session_id,
        bool_or(f.step = 2) as has_cart,
        bool_or(f.step = 3) as has_checkout
    from entries as e
    join marts.fct_funnel_events as f
        on f.session_id = e.session_id
        and f.step > 1
        and f.created_at_utc >= e.entered_at
        and f.created_at_utc <= e.entered_at + to_seconds($window_seconds)
    group by e.session_id
)

select 1 as step, count(*) as count from entries
union all
select 2, count(*) filter (where has_cart) from reached
union all
select 3, count(*) filter (where has_cart and has_checkout) from reached
order by step
