-- Hand-written funnel by step, greenery's default (mode any, unit session, attempts): every
-- page_view starts an attempt, which reaches add_to_cart when the session has an add_to_cart at or
-- after the view and at most $window_seconds later, and checkout when it also has a checkout in
-- that window. A session counts at a step when one of its attempts got there. Reads the same mart,
-- marts.fct_funnel_events.
with attempts as (
    select
        v.session_id,
        v.event_id,
        coalesce(bool_or(f.step = 2), false) as has_cart,
        coalesce(bool_or(f.step = 3), false) as has_checkout
    from marts.fct_funnel_events as v
    left join marts.fct_funnel_events as f
        on f.session_id = v.session_id
        and f.step > 1
        and f.created_at_utc >= v.created_at_utc
        and f.created_at_utc <= v.created_at_utc + to_seconds($window_seconds)
    where v.step = 1
    group by v.session_id, v.event_id
),

sessions as (
    select
        session_id,
        bool_or(has_cart) as reached_cart,
        bool_or(has_cart and has_checkout) as reached_checkout
    from attempts
    group by session_id
)

select 1 as step, count(*) as count from sessions
union all
select 2, count(*) filter (where reached_cart) from sessions
union all
select 3, count(*) filter (where reached_checkout) from sessions
order by step
